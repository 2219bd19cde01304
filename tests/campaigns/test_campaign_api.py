"""/api/v1/campaigns/: create in the seed's shape, read the figures, edit and delete under the
lifecycle rules; the owner / member / outsider cast."""

import pytest

from campaigns.models import Campaign

from ..factories import CampaignFactory, RecipientFactory
from ..templates_app import meta_shapes
from .conftest import make_template

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"

SEED_RECIPIENTS = [
    {
        "country_code": "+1",
        "phone_number": "4155550100",
        "body_param_1": "Ana",
        "body_param_2": "PK-1",
        "body_param_3": "tomorrow",
        "body_param_4": "9-12",
    },
    {
        "country_code": "+1",
        "phone_number": "oops",
        "body_param_1": "Bob",
        "body_param_2": "PK-2",
        "body_param_3": "today",
        "body_param_4": "1-2",
    },
]


def test_create_in_the_seed_shape_ignores_user_id_and_imports_recipients(
    owner_api, owner, outsider, template_a
):
    response = owner_api.post(
        URL,
        {
            "name": "Delivery notices",
            "template_id": str(template_a.id),
            "user_id": outsider.id,
            "recipients": SEED_RECIPIENTS,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    for key in (
        "id",
        "name",
        "status",
        "total_recipients",
        "sent",
        "delivered",
        "read",
        "failed",
        "pending",
        "skipped",
        "created_at",
        "started_at",
        "completed_at",
        "worker_count",
        "rate_limit",
    ):
        assert key in body
    assert body["status"] == "draft"
    assert body["total_recipients"] == 1
    assert body["pending"] == 1
    assert body["import"]["rejected"] == 1
    assert body["import"]["rejected_rows"][0]["line"] == 2
    campaign = Campaign.objects.get(id=body["id"])
    assert campaign.created_by == owner
    assert campaign.workspace == template_a.workspace
    assert campaign.account == template_a.account


def test_create_without_recipients_is_an_empty_draft(member_api, template_a):
    response = member_api.post(
        URL, {"name": "Later", "template_id": str(template_a.id)}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["total_recipients"] == 0


@pytest.mark.parametrize("status", ["PAUSED", "PENDING", "REJECTED"])
def test_only_approved_templates_make_campaigns(owner_api, workspace_a, status):
    template = make_template(workspace_a, meta_shapes.WINTER_COUPON, status=status)
    response = owner_api.post(URL, {"name": "x", "template_id": str(template.id)}, format="json")
    assert response.status_code == 400
    assert f"is {status}" in response.json()["template_id"][0]
    assert not Campaign.objects.exists()


def test_a_template_with_a_component_broadcast_cannot_fill_is_refused_naming_it(
    owner_api, workspace_a
):
    components = [
        {"type": "HEADER", "format": "HOLOGRAM"},
        {"type": "BODY", "text": "Your parcel is at the pickup point."},
    ]
    template = make_template(workspace_a, components=components, name="pickup_point")
    response = owner_api.post(
        "/api/v1/campaigns/", {"name": "x", "template_id": str(template.id)}, format="json"
    )
    assert response.status_code == 400
    assert "uses what Broadcast cannot send yet: HOLOGRAM header" in str(
        response.json()["template_id"]
    )
    assert Campaign.objects.count() == 0


def test_another_workspaces_template_is_unknown(outsider_api, template_a):
    response = outsider_api.post(
        URL, {"name": "x", "template_id": str(template_a.id)}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["template_id"] == ["Unknown template."]


def test_an_account_that_is_not_the_templates_is_refused(owner_api, template_a, workspace_a):
    other = make_template(workspace_a, meta_shapes.CART_REMINDER)
    response = owner_api.post(
        URL,
        {"name": "x", "template_id": str(template_a.id), "account": str(other.account_id)},
        format="json",
    )
    assert response.status_code == 400
    assert "account" in response.json()


def test_unreadable_recipients_refuse_the_whole_campaign(owner_api, template_a):
    response = owner_api.post(
        URL,
        {
            "name": "x",
            "template_id": str(template_a.id),
            "recipients": [{"phone_number": "+14155550100"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "Missing required columns" in response.json()["file"][0]
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate_limit", 0),
        ("rate_limit", 1001),
        ("worker_count", 0),
        ("worker_count", 101),
        ("name", ""),
    ],
)
def test_out_of_range_values_are_a_400(owner_api, template_a, field, value):
    body = {"name": "x", "template_id": str(template_a.id), field: value}
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_detail_shows_funnel_figures(owner_api, template_a):
    campaign = CampaignFactory(
        template=template_a,
        total_recipients=6,
        pending_count=1,
        sent_count=1,
        delivered_count=1,
        read_count=2,
        failed_count=1,
    )
    body = owner_api.get(f"{URL}{campaign.id}/").json()
    assert (body["sent"], body["delivered"], body["read"], body["failed"], body["pending"]) == (
        4,
        3,
        2,
        1,
        1,
    )


def test_list_is_scoped_and_filtered_by_status(owner_api, outsider_api, template_a):
    CampaignFactory(template=template_a, name="A draft")
    CampaignFactory(template=template_a, name="A done", status="completed")
    assert [c["name"] for c in owner_api.get(f"{URL}?status=completed").json()["results"]] == [
        "A done"
    ]
    assert len(owner_api.get(URL).json()["results"]) == 2
    assert outsider_api.get(URL).json()["results"] == []


def test_list_is_paginated_newest_first_and_refuses_an_unknown_status(owner_api, template_a):
    for i in range(52):  # pages of 50
        CampaignFactory(template=template_a, name=f"C{i:02d}")
    first = owner_api.get(URL).json()
    assert first["count"] == 52
    assert len(first["results"]) == 50
    assert [c["name"] for c in first["results"][:2]] == ["C51", "C50"]
    second = owner_api.get(first["next"]).json()
    assert [c["name"] for c in second["results"]] == ["C01", "C00"]
    bad = owner_api.get(f"{URL}?status=done")
    assert bad.status_code == 400
    assert "Unknown status" in str(bad.json()["status"])


def test_outsider_gets_404_everywhere(outsider_api, template_a):
    campaign = CampaignFactory(template=template_a)
    assert outsider_api.get(f"{URL}{campaign.id}/").status_code == 404
    assert (
        outsider_api.patch(f"{URL}{campaign.id}/", {"name": "x"}, format="json").status_code == 404
    )
    assert outsider_api.delete(f"{URL}{campaign.id}/").status_code == 404
    assert Campaign.objects.filter(id=campaign.id).exists()


def test_anonymous_gets_401(anon_api):
    assert anon_api.get(URL).status_code == 401


def test_patch_edits_a_draft(member_api, template_a):
    campaign = CampaignFactory(template=template_a)
    response = member_api.patch(
        f"{URL}{campaign.id}/", {"name": "Renamed", "rate_limit": 500}, format="json"
    )
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert (campaign.name, campaign.rate_limit) == ("Renamed", 500)


@pytest.mark.parametrize("status", ["running", "paused", "completed", "stopped", "failed"])
def test_patch_is_refused_outside_draft_and_scheduled(owner_api, template_a, status):
    campaign = CampaignFactory(template=template_a, status=status)
    response = owner_api.patch(f"{URL}{campaign.id}/", {"name": "x"}, format="json")
    assert response.status_code == 409
    assert f"cannot edit a {status} campaign" == response.json()["detail"]


def test_template_can_change_only_while_there_are_no_recipients(owner_api, template_a, workspace_a):
    other = make_template(workspace_a, meta_shapes.APPOINTMENT)
    campaign = CampaignFactory(template=template_a)
    ok = owner_api.patch(f"{URL}{campaign.id}/", {"template_id": str(other.id)}, format="json")
    assert ok.status_code == 200
    assert ok.json()["template_id"] == str(other.id)
    RecipientFactory(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=1)
    refused = owner_api.patch(
        f"{URL}{campaign.id}/", {"template_id": str(template_a.id)}, format="json"
    )
    assert refused.status_code == 400


def test_delete_is_refused_while_running(owner_api, template_a):
    campaign = CampaignFactory(template=template_a, status="running")
    response = owner_api.delete(f"{URL}{campaign.id}/")
    assert response.status_code == 409
    assert "running" in response.json()["detail"]
    Campaign.objects.filter(pk=campaign.pk).update(status="paused")
    assert owner_api.delete(f"{URL}{campaign.id}/").status_code == 204
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_create_with_an_empty_recipient_list_is_an_empty_draft(owner_api, template_a):
    response = owner_api.post(
        URL, {"name": "Later", "template_id": str(template_a.id), "recipients": []}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["total_recipients"]) == ("draft", 0)
    assert "import" not in body  # nothing was imported, as when the list is left out
    assert not Campaign.objects.get(id=body["id"]).imports.exists()
