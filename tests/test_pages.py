"""The server-rendered entry points: login, dashboard, API schema and docs."""

import re

import pytest

from .factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_dashboard_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_session_login_shows_only_the_users_campaigns(client, owner, workspace_a, workspace_b):
    CampaignFactory(name="Ours", template__account__workspace=workspace_a)
    CampaignFactory(name="Theirs", template__account__workspace=workspace_b)
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "password-123"}, follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ours" in html
    assert "Theirs" not in html


def test_login_form_is_csrf_protected(owner):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "alice", "password": "password-123"})
    assert response.status_code == 403


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content
    assert b"/api/v1/auth/token/" in schema.content
    assert client.get("/api/v1/docs/").status_code == 200


def test_campaign_page_shows_every_counter(client, owner, workspace_a):
    from campaigns.models import Campaign

    campaign = CampaignFactory(template__account__workspace=workspace_a)
    Campaign.objects.filter(pk=campaign.pk).update(
        total_recipients=20,
        pending_count=2,
        sent_count=3,
        delivered_count=4,
        read_count=5,
        failed_count=1,
        skipped_count=2,
        unknown_count=1,
        replied_count=1,
        sending_count=2,
    )
    client.force_login(owner)
    html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    shown = dict(re.findall(r'data-field="(\w+)">(\d+)<', html))
    states = ["pending", "sending", "sent", "delivered", "read", "failed", "skipped", "unknown"]
    assert {k: shown[k] for k in states} == {
        "pending": "2",
        "sending": "2",
        "sent": "3",  # each recipient once, in its current state
        "delivered": "4",
        "read": "5",
        "failed": "1",
        "skipped": "2",
        "unknown": "1",
    }
    assert sum(int(shown[k]) for k in states) == int(shown["total_recipients"]) == 20
    assert shown["replied"] == "1"
    assert shown["sent_total"] == "12"  # the funnel: sent, delivered and read were all sent
    assert "75 %" in html  # delivered: 9 of 12 sent
