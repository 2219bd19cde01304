"""The Marketing Messages API settings through the API, the dashboard and the export: a
campaign's `marketing_policy` and `message_activity_sharing`, its `send_path`, and each
recipient's."""

import csv
import io

import pytest

from campaigns.models import Campaign, Recipient
from whatsapp.models import WhatsAppAccount

from ..factories import RecipientFactory
from ..templates_app import meta_shapes
from .conftest import make_template

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"


@pytest.fixture
def marketing_template(workspace_a):
    template = make_template(workspace_a, meta_shapes.CART_REMINDER)
    WhatsAppAccount.objects.filter(pk=template.account_id).update(marketing_messages_api=True)
    return template


def create(api, template, **fields):
    return api.post(
        URL, {"name": "Spring", "template_id": str(template.id), **fields}, format="json"
    )


def test_a_new_campaign_falls_back_and_shares_activity_by_default(owner_api, marketing_template):
    response = create(owner_api, marketing_template)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["marketing_policy"] == "CLOUD_API_FALLBACK"
    assert body["message_activity_sharing"] is True
    assert body["send_path"] == "marketing_messages"


def test_the_policy_and_activity_sharing_are_set_at_create(owner_api, marketing_template):
    response = create(
        owner_api, marketing_template, marketing_policy="STRICT", message_activity_sharing=False
    )
    assert response.status_code == 201, response.json()
    campaign = Campaign.objects.get(id=response.json()["id"])
    assert (campaign.marketing_policy, campaign.message_activity_sharing) == ("STRICT", False)


def test_a_utility_template_or_a_disabled_account_shows_the_messages_path(
    owner_api, workspace_a, marketing_template
):
    utility = make_template(workspace_a, meta_shapes.DELIVERY_WINDOW)
    WhatsAppAccount.objects.filter(pk=utility.account_id).update(marketing_messages_api=True)
    assert create(owner_api, utility).json()["send_path"] == "messages"
    WhatsAppAccount.objects.filter(pk=marketing_template.account_id).update(
        marketing_messages_api=False
    )
    assert create(owner_api, marketing_template).json()["send_path"] == "messages"


def test_a_draft_s_policy_and_activity_sharing_are_patched(owner_api, campaign_a):
    response = owner_api.patch(
        f"{URL}{campaign_a.id}/",
        {"marketing_policy": "STRICT", "message_activity_sharing": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["marketing_policy"] == "STRICT"
    campaign_a.refresh_from_db()
    assert (campaign_a.marketing_policy, campaign_a.message_activity_sharing) == ("STRICT", False)
    # a patch of something else keeps them
    owner_api.patch(f"{URL}{campaign_a.id}/", {"name": "Renamed"}, format="json")
    campaign_a.refresh_from_db()
    assert (campaign_a.marketing_policy, campaign_a.message_activity_sharing) == ("STRICT", False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("marketing_policy", "LOOSE"),
        ("marketing_policy", "strict"),
        ("marketing_policy", 1),
        ("message_activity_sharing", "maybe"),
        ("message_activity_sharing", [True]),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field(
    owner_api, campaign_a, marketing_template, field, value
):
    response = owner_api.patch(f"{URL}{campaign_a.id}/", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    response = create(owner_api, marketing_template, **{field: value})
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("status", ["running", "paused", "completed"])
def test_the_policy_cannot_change_once_the_campaign_has_left_draft(owner_api, campaign_a, status):
    Campaign.objects.filter(pk=campaign_a.pk).update(status=status)
    response = owner_api.patch(
        f"{URL}{campaign_a.id}/", {"marketing_policy": "STRICT"}, format="json"
    )
    assert response.status_code == 409
    campaign_a.refresh_from_db()
    assert campaign_a.marketing_policy == "CLOUD_API_FALLBACK"


def test_the_outsider_gets_404(outsider_api, campaign_a):
    response = outsider_api.patch(
        f"{URL}{campaign_a.id}/", {"marketing_policy": "STRICT"}, format="json"
    )
    assert response.status_code == 404
    assert outsider_api.get(f"{URL}{campaign_a.id}/").status_code == 404
    assert outsider_api.get(f"{URL}{campaign_a.id}/recipients/").status_code == 404
    campaign_a.refresh_from_db()
    assert campaign_a.marketing_policy == "CLOUD_API_FALLBACK"


def _sent(campaign, phone, path):
    return RecipientFactory(
        campaign=campaign, phone=phone, status="sent", wamid=f"wamid.{phone}", send_path=path
    )


def test_recipients_and_the_export_show_each_send_path(owner_api, campaign_a):
    _sent(campaign_a, "+14155550001", "marketing_messages")
    _sent(campaign_a, "+14155550002", "messages")
    RecipientFactory(campaign=campaign_a, phone="+14155550003")  # not sent yet
    listed = owner_api.get(f"{URL}{campaign_a.id}/recipients/").json()["results"]
    assert {r["phone"]: r["send_path"] for r in listed} == {
        "+14155550001": "marketing_messages",
        "+14155550002": "messages",
        "+14155550003": "",
    }
    response = owner_api.get(f"{URL}{campaign_a.id}/export/")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")[1:]
    header = next(csv.reader(io.StringIO(text)))
    assert header[-3:] == ["cost", "send_path", "number"]  # then the number it left from
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["phone"]: r["send_path"] for r in rows} == {
        "'+14155550001": "marketing_messages",
        "'+14155550002": "messages",
        "'+14155550003": "",
    }


def test_the_dashboard_creates_a_campaign_with_the_policy(client, owner, marketing_template):
    client.force_login(owner)
    page = client.get("/campaigns/new/")
    assert b"Marketing Messages API" in page.content
    response = client.post(
        "/campaigns/new/",
        {
            "name": "Spring",
            "template": str(marketing_template.pk),
            "marketing_policy": "STRICT",
            # an unticked checkbox is not posted: activity sharing off
        },
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Spring")
    assert (campaign.marketing_policy, campaign.message_activity_sharing) == ("STRICT", False)
    detail = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Marketing Messages API (Marketing Messages API only, no activity sharing)" in detail


def test_the_recipients_table_marks_sends_through_the_mm_api(client, owner, campaign_a):
    _sent(campaign_a, "+14155550001", "marketing_messages")
    client.force_login(owner)
    page = client.get(f"/campaigns/{campaign_a.pk}/").content.decode()
    assert "Sent through the Marketing Messages API" in page
    assert Recipient.objects.filter(campaign=campaign_a).count() == 1
