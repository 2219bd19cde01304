"""send-bulk: create, import and start in one call (campaigns/services/bulk.py), all or
nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, ImportReport, Recipient
from campaigns.services.bulk import campaign_send_bulk
from campaigns.services.lifecycle import InvalidTransition
from config.errors import PermissionDenied

pytestmark = pytest.mark.django_db

URL = "/api/v1/send-bulk/"
VALUES = {
    "body_param_1": "Ana",
    "body_param_2": "PK",
    "body_param_3": "now",
    "body_param_4": "9-12",
}


def recipients(n=3):
    return [{"country_code": "+1", "phone_number": f"41555501{i:02d}", **VALUES} for i in range(n)]


def test_the_service_creates_imports_and_starts(
    owner, template_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        campaign, report = campaign_send_bulk(
            user=owner,
            name="  Bulk  ",
            template=template_a,
            recipients=recipients(3),
            rate_limit=50,
            worker_count=4,
        )
    assert (campaign.name, campaign.status) == ("Bulk", "running")
    assert (campaign.rate_limit, campaign.worker_count) == (50, 4)
    assert report.imported == 3
    assert Recipient.objects.filter(campaign=campaign, status="pending").count() == 3
    assert callbacks  # the senders start once committed


def test_the_service_leaves_nothing_behind_when_it_cannot_start(owner, template_a):
    template_a.account.state, template_a.account.state_reason = "needs_attention", "token expired"
    template_a.account.save()
    with pytest.raises(InvalidTransition, match="token expired"):
        campaign_send_bulk(user=owner, name="Bulk", template=template_a, recipients=recipients())
    assert not Campaign.objects.exists()
    assert not ImportReport.objects.exists()
    assert not Recipient.objects.exists()


def test_the_service_refuses_someone_outside_the_workspace(outsider, template_a):
    with pytest.raises(PermissionDenied):
        campaign_send_bulk(user=outsider, name="Bulk", template=template_a, recipients=recipients())
    assert not Campaign.objects.exists()


def test_send_bulk_with_send_at_schedules(owner_api, template_a):
    send_at = (timezone.now() + timedelta(hours=2)).isoformat()
    body = {
        "name": "Later",
        "template_id": str(template_a.id),
        "recipients": recipients(2),
        "send_at": send_at,
    }
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "scheduled"
    assert response.json()["import"]["imported"] == 2


def test_send_bulk_refused_is_a_409_with_its_code_and_nothing_stored(owner_api, template_a):
    template_a.account.state, template_a.account.state_reason = "needs_attention", "token expired"
    template_a.account.save()
    body = {"name": "Bulk", "template_id": str(template_a.id), "recipients": recipients()}
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "token expired" in response.json()["detail"]
    assert not Campaign.objects.exists()


def test_send_bulk_with_a_past_send_at_names_the_field(owner_api, template_a):
    body = {
        "name": "Bulk",
        "template_id": str(template_a.id),
        "recipients": recipients(),
        "send_at": (timezone.now() - timedelta(days=1)).isoformat(),
    }
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "in the past" in response.json()["send_at"][0]
    assert not Campaign.objects.exists()


def test_send_bulk_with_an_empty_list_is_a_400_and_stores_nothing(owner_api, template_a):
    response = owner_api.post(
        URL, {"name": "x", "template_id": str(template_a.id), "recipients": []}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["recipients"]
    assert not Campaign.objects.exists()


def test_send_bulk_takes_the_campaigns_other_settings(owner_api, template_a):
    ends = (timezone.now() + timedelta(days=2)).isoformat()
    response = owner_api.post(
        URL,
        {
            "name": "Bulk",
            "template_id": str(template_a.id),
            "recipients": recipients(1),
            "marketing_policy": "STRICT",
            "message_activity_sharing": False,
            "offer_expires_at": ends,
            "breaker": {"consecutive": 20},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    campaign = Campaign.objects.get()
    assert (campaign.marketing_policy, campaign.message_activity_sharing) == ("STRICT", False)
    assert campaign.offer_expires_at is not None
    assert campaign.breaker == {"consecutive": 20}
