"""The API's validation matrix in one table: each bad input of a campaign's life, its
status, and the field or code a client can branch on. Nothing is created or started by a
refused request."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign

from .test_lifecycle_api import VALUES, with_recipients

pytestmark = pytest.mark.django_db

ROW = {"country_code": "+1", "phone_number": "4155550100", **VALUES}
PAST = (timezone.now() - timedelta(days=3)).isoformat()
NAIVE = "2030-01-01T09:00:00"
UNKNOWN = str(uuid.uuid4())

# (case, endpoint, body, status, the field named — or the code given)
MATRIX = [
    ("create: worker_count 0", "create", {"worker_count": 0}, 400, "worker_count"),
    ("create: worker_count 101", "create", {"worker_count": 101}, 400, "worker_count"),
    ("create: rate_limit 0", "create", {"rate_limit": 0}, 400, "rate_limit"),
    ("create: rate_limit 1001", "create", {"rate_limit": 1001}, 400, "rate_limit"),
    ("create: unknown template", "create", {"template_id": UNKNOWN}, 400, "template_id"),
    ("create: malformed template", "create", {"template_id": "x"}, 400, "template_id"),
    ("create: no name", "create", {"name": ""}, 400, "name"),
    ("create: recipients not a list", "create", {"recipients": "all"}, 400, "recipients"),
    ("send: worker_count 0", "send", {"worker_count": 0}, 400, "worker_count"),
    ("send: worker_count 101", "send", {"worker_count": 101}, 400, "worker_count"),
    ("send: rate_limit 0", "send", {"rate_limit": 0}, 400, "rate_limit"),
    ("send: rate_limit 1001", "send", {"rate_limit": 1001}, 400, "rate_limit"),
    ("send: naive send_at", "send", {"send_at": NAIVE}, 400, "send_at"),
    ("send: past send_at", "send", {"send_at": PAST}, 400, "send_at"),
    ("send: send_at not a time", "send", {"send_at": "soon"}, 400, "send_at"),
    ("send: no recipients", "send-empty", {}, 409, "invalid_transition"),
    ("send-bulk: empty list", "bulk", {"recipients": []}, 400, "recipients"),
    ("send-bulk: naive send_at", "bulk", {"send_at": NAIVE}, 400, "send_at"),
    ("send-bulk: past send_at", "bulk", {"send_at": PAST}, 400, "send_at"),
    ("send-bulk: rate_limit 1001", "bulk", {"rate_limit": 1001}, 400, "rate_limit"),
    ("send-bulk: unknown template", "bulk", {"template_id": UNKNOWN}, 400, "template_id"),
]


@pytest.mark.parametrize(
    ("endpoint", "body", "status", "named"),
    [case[1:] for case in MATRIX],
    ids=[case[0] for case in MATRIX],
)
def test_bad_input_is_refused_with_its_field_or_code(
    owner_api, template_a, endpoint, body, status, named
):
    draft = with_recipients(template_a)
    empty = with_recipients(template_a, n=0)
    before = set(Campaign.objects.values_list("id", "status"))
    if endpoint == "create":
        body = {"name": "Matrix", "template_id": str(template_a.id), **body}
        response = owner_api.post("/api/v1/campaigns/", body, format="json")
    elif endpoint == "bulk":
        body = {"name": "Matrix", "template_id": str(template_a.id), "recipients": [ROW], **body}
        response = owner_api.post("/api/v1/send-bulk/", body, format="json")
    else:
        campaign = empty if endpoint == "send-empty" else draft
        response = owner_api.post(f"/api/v1/campaigns/{campaign.pk}/send/", body, format="json")

    assert response.status_code == status, response.json()
    payload = response.json()
    if "code" in payload:
        assert payload["code"] == named
        assert payload["detail"]
    else:
        assert named in payload, payload
    assert set(Campaign.objects.values_list("id", "status")) == before


def test_an_empty_recipient_list_on_create_is_an_empty_draft(owner_api, template_a):
    body = {"name": "Empty", "template_id": str(template_a.id), "recipients": []}

    response = owner_api.post("/api/v1/campaigns/", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "draft"
    assert response.json()["total_recipients"] == 0
