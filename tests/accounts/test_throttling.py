"""Throttles (accounts/throttles.py): the JWT token endpoints per client IP, the dashboard
login's failed attempts per IP and per username, the API's sends per user. Each test sets
its own low rate; the suite's are too high to reach (config/settings_test.py)."""

import pytest
from django.test import Client

from campaigns.models import Campaign

from ..conftest import jwt_client
from ..factories import CampaignFactory, MessageTemplateFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"


def assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response.json()["detail"].startswith("Request was throttled.")
    assert 0 < int(response.headers["Retry-After"]) <= 60


# --- Token endpoints -------------------------------------------------------------------------


def test_token_requests_are_throttled_per_client_ip(owner, anon_api, settings):
    settings.THROTTLE_TOKEN = "3/minute"
    wrong = {"username": "alice", "password": "nope"}
    for _ in range(3):
        assert anon_api.post(TOKEN, wrong, format="json").status_code == 401

    right = {"username": "alice", "password": "password-123"}
    assert_throttled(anon_api.post(TOKEN, right, format="json"))
    assert_throttled(anon_api.post(f"{TOKEN}refresh/", {"refresh": "x"}, format="json"))
    # Another client is not held back by this one.
    other = anon_api.post(TOKEN, right, format="json", REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200
    assert "access" in other.json()


def test_a_forwarded_for_header_does_not_make_a_new_client(owner, anon_api, settings):
    settings.THROTTLE_TOKEN = "2/minute"
    wrong = {"username": "alice", "password": "nope"}
    for n in range(2):
        anon_api.post(TOKEN, wrong, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    response = anon_api.post(TOKEN, wrong, format="json", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert_throttled(response)


def test_token_throttle_off_lets_every_request_through(owner, anon_api, settings):
    settings.THROTTLE_TOKEN = None
    wrong = {"username": "alice", "password": "nope"}
    for _ in range(5):
        assert anon_api.post(TOKEN, wrong, format="json").status_code == 401


# --- Dashboard login -------------------------------------------------------------------------


def fail(client, username="alice", ip="10.0.0.1"):
    response = client.post(LOGIN, {"username": username, "password": "nope"}, REMOTE_ADDR=ip)
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content
    return response


def test_failed_logins_are_throttled_and_the_right_password_is_refused_meanwhile(owner, settings):
    settings.THROTTLE_LOGIN = "3/minute"
    client = Client()
    for _ in range(3):
        fail(client)

    response = client.post(LOGIN, {"username": "alice", "password": "password-123"})

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert b"Too many failed login attempts" in response.content
    assert b"didn" not in response.content  # not the wrong-password message
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still logged out
    assert client.get(LOGIN).status_code == 200  # the page itself is not throttled


def test_failures_count_per_username_from_any_address(owner, member, settings):
    settings.THROTTLE_LOGIN = "3/minute"
    client = Client()
    for n in range(3):
        fail(client, username="Alice" if n else "alice", ip=f"10.0.1.{n}")
    response = client.post(
        LOGIN, {"username": "alice", "password": "password-123"}, REMOTE_ADDR="10.0.1.9"
    )
    assert response.status_code == 429
    # Another user, from a fresh address, logs in.
    member_login = client.post(
        LOGIN, {"username": "bob", "password": "password-123"}, REMOTE_ADDR="10.0.1.10"
    )
    assert member_login.status_code == 302


def test_failures_count_per_address_for_any_username(owner, member, settings):
    settings.THROTTLE_LOGIN = "3/minute"
    client = Client()
    for name in ("carol", "dave", "erin"):
        fail(client, username=name)
    response = client.post(
        LOGIN, {"username": "bob", "password": "password-123"}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429


def test_a_successful_login_clears_its_usernames_failures(owner, settings):
    settings.THROTTLE_LOGIN = "3/minute"
    client = Client()
    fail(client, ip="10.0.2.1")
    fail(client, ip="10.0.2.2")
    ok = client.post(
        LOGIN, {"username": "alice", "password": "password-123"}, REMOTE_ADDR="10.0.2.3"
    )
    assert ok.status_code == 302
    client.logout()
    fail(client, ip="10.0.2.4")
    fail(client, ip="10.0.2.5")
    assert fail(client, ip="10.0.2.6")  # 3 since the success: the next is refused
    assert client.post(LOGIN, {"username": "alice"}, REMOTE_ADDR="10.0.2.7").status_code == 429


def test_the_login_throttle_lifts_after_its_window(owner, settings, monkeypatch):
    import time

    settings.THROTTLE_LOGIN = "2/minute"
    client = Client()
    fail(client)
    fail(client)
    assert client.post(LOGIN, {"username": "alice", "password": "x"}).status_code == 429
    later = time.time() + 61
    monkeypatch.setattr("accounts.throttles.time.time", lambda: later)
    response = client.post(LOGIN, {"username": "alice", "password": "password-123"})
    assert response.status_code == 302


# --- Sends -----------------------------------------------------------------------------------


def test_sends_and_imports_share_one_budget_per_user(owner, member, workspace_a, settings):
    settings.THROTTLE_SENDS = "3/minute"
    template = MessageTemplateFactory(account__workspace=workspace_a)
    campaign = CampaignFactory(template=template)
    api = jwt_client(owner)
    recipients = f"/api/v1/campaigns/{campaign.id}/recipients/"

    imported = api.post(f"{recipients}?dry_run=true", [], format="json")
    refused = api.post(f"/api/v1/campaigns/{campaign.id}/send/", {}, format="json")
    bulk = api.post("/api/v1/send-bulk/", {}, format="json")
    assert 429 not in (imported.status_code, refused.status_code, bulk.status_code)

    assert_throttled(api.post(f"/api/v1/campaigns/{campaign.id}/send/", {}, format="json"))
    assert_throttled(api.post("/api/v1/send-bulk/", {}, format="json"))
    assert_throttled(api.post(recipients, [], format="json"))
    # Reading is not sending; another user has their own budget.
    assert api.get(recipients).status_code == 200
    assert api.get(f"/api/v1/campaigns/{campaign.id}/").status_code == 200
    other = jwt_client(member).post("/api/v1/send-bulk/", {}, format="json")
    assert other.status_code == 400
    assert Campaign.objects.count() == 1


# --- Admin login ---------------------------------------------------------------------------

ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def staff(owner):
    owner.is_staff = owner.is_superuser = True
    owner.save()
    return owner


def test_the_admin_login_is_throttled_with_the_dashboards_counts(staff, settings):
    settings.THROTTLE_LOGIN = "3/minute"
    client = Client()
    fail(client)
    fail(client)
    wrong = client.post(ADMIN_LOGIN, {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200
    assert b"errornote" in wrong.content  # the admin's own wrong-password message

    response = client.post(
        ADMIN_LOGIN, {"username": "alice", "password": "password-123", "next": "/admin/"}
    )

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session
    assert client.post(LOGIN, {"username": "alice", "password": "password-123"}).status_code == 429


def test_the_admin_login_still_logs_staff_in_and_refuses_others(staff, member):
    client = Client()
    page = client.get(ADMIN_LOGIN)
    assert page.status_code == 200
    assert b"Django administration" in page.content or b"Broadcast" in page.content

    refused = client.post(ADMIN_LOGIN, {"username": "bob", "password": "password-123"})
    assert refused.status_code == 200  # a member who is not staff
    assert "_auth_user_id" not in client.session

    ok = client.post(ADMIN_LOGIN, {"username": "alice", "password": "password-123"})
    assert ok.status_code == 302
    assert ok["Location"] == "/admin/"
    assert client.get(ADMIN_LOGIN).status_code == 302  # logged in: on to the index
