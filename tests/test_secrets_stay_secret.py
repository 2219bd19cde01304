"""A connection's secrets (access token, app secret) are written, never read back: not in
the API's answers, the admin's pages, the dashboard's pages, the logs or the exports."""

import logging

import pytest

from .factories import WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

TOKEN = "EAAG-very-secret-token-5f3a9c"
APP_SECRET = "app-secret-0b1d2e3f4a5b"


@pytest.fixture
def account(workspace_a, owner):
    return WhatsAppAccountFactory(workspace=workspace_a, access_token=TOKEN, app_secret=APP_SECRET)


def assert_hidden(text: str, where: str):
    assert TOKEN not in text, where
    assert APP_SECRET not in text, where
    assert TOKEN[-8:] not in text or "••••" in text, where  # at most the masked tail


def test_the_api_never_returns_the_secrets(owner_api, account):
    for url in ("/api/v1/whatsapp-accounts/", f"/api/v1/whatsapp-accounts/{account.pk}/"):
        assert_hidden(owner_api.get(url).content.decode(), url)
    patched = owner_api.patch(
        f"/api/v1/whatsapp-accounts/{account.pk}/", {"name": "Renamed"}, format="json"
    )
    assert_hidden(patched.content.decode(), "PATCH answer")


def test_the_dashboard_and_the_admin_never_show_them(client, owner, account):
    owner.is_staff = owner.is_superuser = True
    owner.save()
    client.force_login(owner)
    for url in (
        "/numbers/",
        f"/numbers/{account.pk}/",
        "/admin/whatsapp/whatsappaccount/",
        f"/admin/whatsapp/whatsappaccount/{account.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_hidden(response.content.decode(), url)


def test_the_logs_never_carry_them(owner_api, account, caplog):
    caplog.set_level(logging.DEBUG)
    owner_api.patch(
        f"/api/v1/whatsapp-accounts/{account.pk}/",
        {"access_token": "EAAG-another-secret-token-77"},
        format="json",
    )
    owner_api.get(f"/api/v1/whatsapp-accounts/{account.pk}/")
    logged = "\n".join(r.getMessage() + " " + str(r.__dict__) for r in caplog.records)
    assert_hidden(logged, "logs")
    assert "EAAG-another-secret-token-77" not in logged
