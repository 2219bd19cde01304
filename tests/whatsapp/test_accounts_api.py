"""/api/v1/whatsapp-accounts/: the owner manages, the member reads, the outsider sees nothing."""

import pytest

from whatsapp.models import WhatsAppAccount

from ..factories import CampaignFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/whatsapp-accounts/"

NEW = {
    "name": "Main number",
    "waba_id": "102290129340398",
    "phone_number_id": "106540352242922",
    "display_phone_number": "15550783881",
    "access_token": "EAAG-secret-token-1a2b",
    "app_secret": "app-secret-9f8e",
    "verify_token": "verify-me-7c6d",
    "throughput": 80,
    "messaging_limit_tier": "10000",
}


@pytest.fixture
def account_a(workspace_a):
    return WhatsAppAccountFactory(workspace=workspace_a, access_token="EAAG-existing-token-77aa")


def test_owner_creates_a_connection_and_secrets_read_back_masked(owner_api, workspace_a):
    response = owner_api.post(URL, NEW, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["access_token"] == "••••1a2b"
    assert body["app_secret"] == "••••9f8e"
    assert body["verify_token"] == "••••7c6d"
    assert body["workspace"] == str(workspace_a.id)
    assert body["state"] == "active"
    stored = WhatsAppAccount.objects.get(id=body["id"])
    assert stored.access_token == "EAAG-secret-token-1a2b"


def test_list_and_detail_never_return_a_secret(owner_api, account_a):
    listing = owner_api.get(URL).json()["results"]
    detail = owner_api.get(f"{URL}{account_a.id}/").json()
    for row in (listing[0], detail):
        assert row["access_token"] == "••••77aa"
        assert "EAAG-existing" not in str(row)


def test_member_can_read_but_not_change_connections(member_api, account_a):
    assert member_api.get(f"{URL}{account_a.id}/").status_code == 200
    assert member_api.post(URL, NEW, format="json").status_code == 403
    assert (
        member_api.patch(f"{URL}{account_a.id}/", {"name": "x"}, format="json").status_code == 403
    )
    assert member_api.delete(f"{URL}{account_a.id}/").status_code == 403


def test_outsider_gets_404_for_another_workspaces_connection(outsider_api, account_a):
    assert outsider_api.get(f"{URL}{account_a.id}/").status_code == 404
    assert (
        outsider_api.patch(f"{URL}{account_a.id}/", {"name": "x"}, format="json").status_code == 404
    )
    assert outsider_api.delete(f"{URL}{account_a.id}/").status_code == 404
    assert outsider_api.get(URL).json()["results"] == []
    assert WhatsAppAccount.objects.filter(id=account_a.id).exists()


def test_outsider_cannot_create_in_someone_elses_workspace(outsider_api, workspace_a):
    response = outsider_api.post(URL, {**NEW, "workspace": str(workspace_a.id)}, format="json")
    assert response.status_code == 404
    assert not WhatsAppAccount.objects.exists()


def test_anonymous_gets_401(anon_api):
    assert anon_api.get(URL).status_code == 401


def test_patch_without_secrets_keeps_them(owner_api, account_a):
    response = owner_api.patch(f"{URL}{account_a.id}/", {"throughput": 1000}, format="json")
    assert response.status_code == 200, response.json()
    account_a.refresh_from_db()
    assert account_a.throughput == 1000
    assert account_a.access_token == "EAAG-existing-token-77aa"


def test_new_token_clears_needs_attention(owner_api, account_a):
    account_a.state, account_a.state_reason = "needs_attention", "Access token expired"
    account_a.save()
    response = owner_api.patch(
        f"{URL}{account_a.id}/", {"access_token": "EAAG-fresh-token-0000"}, format="json"
    )
    assert response.json()["state"] == "active"
    account_a.refresh_from_db()
    assert account_a.access_token == "EAAG-fresh-token-0000"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("throughput", 50),
        ("messaging_limit_tier", "999"),
        ("access_token", ""),
        ("name", ""),
    ],
)
def test_invalid_values_are_a_400_naming_the_field(owner_api, field, value):
    response = owner_api.post(URL, {**NEW, field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_missing_secrets_are_refused_on_create(owner_api):
    body = {k: v for k, v in NEW.items() if k not in ("access_token", "app_secret")}
    response = owner_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"access_token", "app_secret"}


def test_a_phone_number_id_cannot_be_connected_twice(owner_api, account_a):
    response = owner_api.post(
        URL, {**NEW, "phone_number_id": account_a.phone_number_id}, format="json"
    )
    assert response.status_code == 400
    assert "already connected" in str(response.json()["phone_number_id"])


def test_a_connection_with_campaigns_cannot_be_deleted(owner_api, account_a):
    CampaignFactory(template__account=account_a)
    response = owner_api.delete(f"{URL}{account_a.id}/")
    assert response.status_code == 409
    assert "campaigns" in response.json()["detail"]


def test_owner_deletes_an_unused_connection(owner_api, account_a):
    assert owner_api.delete(f"{URL}{account_a.id}/").status_code == 204
    assert not WhatsAppAccount.objects.filter(id=account_a.id).exists()


def test_malformed_id_is_a_404(owner_api):
    assert owner_api.get(f"{URL}not-a-uuid/").status_code == 404


def test_rotate_secrets_re_encrypts_with_the_newest_key(settings, account_a):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_secrets")
    settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone now
    assert WhatsAppAccount.objects.get(pk=account_a.pk).access_token == "EAAG-existing-token-77aa"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone_number_id", "1234/../me"),
        ("phone_number_id", "1234 5678"),
        ("waba_id", "1234?fields=x"),
        ("access_token", "EAAG token with spaces"),
        ("access_token", "EAAG-token\nX-Injected: yes"),
        ("access_token", "EAAG-tökén"),
        ("app_secret", "secret\ttab"),
    ],
)
def test_ids_and_secrets_graph_cannot_carry_are_field_errors(owner_api, field, value):
    response = owner_api.post(URL, {**NEW, field: value}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not WhatsAppAccount.objects.exists()


def test_an_update_with_an_untransportable_token_keeps_the_old_one(owner_api, account_a):
    before = account_a.access_token
    response = owner_api.patch(
        f"{URL}{account_a.id}/", {"access_token": "two words"}, format="json"
    )
    assert response.status_code == 400
    account_a.refresh_from_db()
    assert account_a.access_token == before
