"""/numbers/: the owner connects, edits, tests and deletes; the member reads; the outsider
gets 404."""

import pytest
import responses
from django.conf import settings

from whatsapp.models import WhatsAppAccount

from ..factories import CampaignFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Main number",
    "waba_id": "102290129340398",
    "phone_number_id": "106540352242922",
    "access_token": "EAAG-secret-token-1a2b",
    "app_secret": "app-secret-9f8e",
    "verify_token": "verify-me-7c6d",
    "throughput": "80",
    "messaging_limit_tier": "2000",
}


@pytest.fixture
def account(workspace_a):
    return WhatsAppAccountFactory(
        workspace=workspace_a,
        name="Support line",
        access_token="EAAG-existing-token-77aa",
        app_secret="stored-app-secret-3c3c",
        verify_token="stored-verify-9d9d",
    )


def logged_in(client, user):
    client.force_login(user)
    return client


def graph(path: str) -> str:
    return f"{settings.WHATSAPP_GRAPH_URL}/{settings.WHATSAPP_GRAPH_VERSION}/{path}"


def texts(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- list and detail ------------------------------------------------------------------------


def test_list_shows_the_workspaces_numbers_only(client, owner, account, workspace_b):
    WhatsAppAccountFactory(workspace=workspace_b, name="Theirs")
    html = logged_in(client, owner).get("/numbers/").content.decode()
    assert "Support line" in html
    assert "Theirs" not in html
    assert "Connect a number" in html


def test_member_reads_without_managing_controls(client, member, account):
    client = logged_in(client, member)
    assert "Connect a number" not in client.get("/numbers/").content.decode()
    html = client.get(f"/numbers/{account.pk}/").content.decode()
    assert "Support line" in html
    assert "Test connection</button>" not in html
    assert "Delete this connection" not in html
    assert 'name="access_token"' not in html
    assert "stored-verify-9d9d" not in html  # members see the verify token masked
    assert "••••9d9d" in html


def test_outsider_gets_404_on_every_number_url(client, outsider, account):
    client = logged_in(client, outsider)
    assert client.get(f"/numbers/{account.pk}/").status_code == 404
    assert client.post(f"/numbers/{account.pk}/", NEW).status_code == 404
    assert client.post(f"/numbers/{account.pk}/test/").status_code == 404
    assert client.post(f"/numbers/{account.pk}/delete/").status_code == 404
    assert WhatsAppAccount.objects.filter(pk=account.pk).exists()


def test_pages_require_login(client, account):
    for url in ("/numbers/", f"/numbers/{account.pk}/", "/numbers/new/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")


def test_detail_shows_masked_secrets_webhook_url_and_last_error(client, owner, account):
    WhatsAppAccount.objects.filter(pk=account.pk).update(
        state="needs_attention",
        state_reason="The access token expired.",
        last_error_code=130429,
        last_error_details="Rate limit hit",
    )
    html = logged_in(client, owner).get(f"/numbers/{account.pk}/").content.decode()
    assert "••••77aa" in html
    assert "EAAG-existing-token-77aa" not in html
    assert "••••3c3c" in html
    assert "stored-app-secret-3c3c" not in html
    assert 'value="http://testserver/webhooks/whatsapp/"' in html
    assert 'value="stored-verify-9d9d"' in html  # the owner copies it into Meta's settings
    assert "The access token expired." in html
    assert "130429" in html
    assert "Rate limit hit" in html


# --- connect --------------------------------------------------------------------------------


def test_owner_connects_a_number_with_secrets_stored_not_shown(client, owner, workspace_a):
    response = logged_in(client, owner).post("/numbers/new/", NEW, follow=True)
    account = WhatsAppAccount.objects.get(name="Main number")
    assert account.workspace == workspace_a
    assert account.access_token == "EAAG-secret-token-1a2b"
    html = response.content.decode()
    assert "Connected Main number" in html
    assert "EAAG-secret-token-1a2b" not in html
    assert "••••1a2b" in html


def test_a_verify_token_is_made_up_when_left_blank(client, owner):
    logged_in(client, owner).post("/numbers/new/", {**NEW, "verify_token": ""})
    assert len(WhatsAppAccount.objects.get(name="Main number").verify_token) >= 24


def test_connect_with_missing_fields_keeps_what_was_typed(client, owner):
    response = logged_in(client, owner).post("/numbers/new/", {**NEW, "access_token": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="Main number"' in html
    assert 'value="102290129340398"' in html
    assert "This field is required." in html
    assert not WhatsAppAccount.objects.exists()


def test_a_phone_number_id_already_connected_is_said_beside_the_field(client, owner, account):
    response = logged_in(client, owner).post(
        "/numbers/new/", {**NEW, "phone_number_id": account.phone_number_id}
    )
    assert "This phone number id is already connected." in response.content.decode()
    assert 'value="Main number"' in response.content.decode()


def test_member_cannot_connect(client, member):
    response = logged_in(client, member).post("/numbers/new/", NEW, follow=True)
    assert "Only a workspace owner can connect" in " ".join(texts(response))
    assert not WhatsAppAccount.objects.exists()


# --- edit -----------------------------------------------------------------------------------


def test_an_empty_secret_on_edit_keeps_the_stored_one(client, owner, account):
    data = {**NEW, "access_token": "", "app_secret": "", "verify_token": "", "name": "Renamed"}
    response = logged_in(client, owner).post(f"/numbers/{account.pk}/", data, follow=True)
    assert "Saved Renamed." in " ".join(texts(response))
    account.refresh_from_db()
    assert account.name == "Renamed"
    assert account.access_token == "EAAG-existing-token-77aa"
    assert account.app_secret == "stored-app-secret-3c3c"
    assert account.verify_token == "stored-verify-9d9d"


def test_a_new_token_replaces_the_stored_one(client, owner, account):
    data = {**NEW, "access_token": "EAAG-rotated-5e5e", "app_secret": "", "verify_token": ""}
    logged_in(client, owner).post(f"/numbers/{account.pk}/", data)
    account.refresh_from_db()
    assert account.access_token == "EAAG-rotated-5e5e"


def test_invalid_edit_keeps_what_was_typed(client, owner, account):
    response = logged_in(client, owner).post(
        f"/numbers/{account.pk}/", {**NEW, "name": "Typed name", "throughput": "7"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="Typed name"' in html
    assert "Select a valid choice" in html
    account.refresh_from_db()
    assert account.name == "Support line"


def test_member_edit_is_refused_with_a_message(client, member, account):
    response = logged_in(client, member).post(
        f"/numbers/{account.pk}/", {**NEW, "name": "Hijacked"}, follow=True
    )
    assert response.status_code == 200
    assert "Only a workspace owner" in " ".join(texts(response))
    account.refresh_from_db()
    assert account.name == "Support line"


# --- delete ---------------------------------------------------------------------------------


def test_owner_deletes_an_unused_number(client, owner, account):
    response = logged_in(client, owner).post(f"/numbers/{account.pk}/delete/", follow=True)
    assert "Deleted the connection Support line." in " ".join(texts(response))
    assert not WhatsAppAccount.objects.exists()


def test_a_number_with_campaigns_is_not_deleted_and_the_page_says_why(client, owner, account):
    CampaignFactory(account=account, template__account=account)
    response = logged_in(client, owner).post(f"/numbers/{account.pk}/delete/", follow=True)
    assert response.status_code == 200
    assert "This connection has campaigns" in " ".join(texts(response))
    assert WhatsAppAccount.objects.filter(pk=account.pk).exists()


def test_member_delete_is_refused_with_a_message(client, member, account):
    response = logged_in(client, member).post(f"/numbers/{account.pk}/delete/", follow=True)
    assert response.status_code == 200
    assert "Only a workspace owner" in " ".join(texts(response))
    assert WhatsAppAccount.objects.filter(pk=account.pk).exists()


# --- test connection ------------------------------------------------------------------------


def test_connection_test_against_the_sandbox_works_and_reads_the_number(
    client, owner, account, sandbox
):
    account.display_phone_number = ""
    account.save()
    response = logged_in(client, owner).post(f"/numbers/{account.pk}/test/", follow=True)
    html = response.content.decode()
    assert "The connection works." in html
    assert "Broadcast Sandbox" in html  # the verified name Meta (the sandbox) reports
    assert "GREEN" in html
    account.refresh_from_db()
    assert account.throughput == 1000  # the session sandbox runs at --mps 1000: HIGH
    assert account.messaging_limit_tier == "unlimited"
    assert account.display_phone_number


def test_connection_test_inline_with_htmx(client, owner, account, sandbox):
    response = logged_in(client, owner).post(f"/numbers/{account.pk}/test/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The connection works." in html
    assert "<html" not in html  # a fragment for the page's result box


EXPIRED = {
    "error": {
        "message": "Error validating access token: Session has expired on Tuesday.",
        "type": "OAuthException",
        "code": 190,
        "error_subcode": 463,
        "fbtrace_id": "AbcTrace",
    }
}


@responses.activate
def test_an_expired_token_is_said_with_metas_message_and_code(client, owner, account):
    responses.add(responses.GET, graph(account.phone_number_id), status=401, json=EXPIRED)
    response = logged_in(client, owner).post(f"/numbers/{account.pk}/test/", follow=True)
    html = response.content.decode()
    assert "The connection does not work yet." in html
    assert "The access token was refused" in html
    assert "Session has expired on Tuesday." in html
    assert "code 190" in html
    assert "Not checked: the access token was refused." in html
    account.refresh_from_db()
    assert account.state == "needs_attention"
    assert "190" in account.state_reason


@responses.activate
def test_a_wrong_waba_id_is_named(client, owner, account):
    responses.add(
        responses.GET,
        graph(account.phone_number_id),
        json={"id": account.phone_number_id, "verified_name": "Acme", "quality_rating": "GREEN"},
    )
    responses.add(
        responses.GET,
        graph(f"{account.waba_id}/message_templates"),
        status=400,
        json={
            "error": {
                "message": f"Unsupported get request. Object with ID '{account.waba_id}' does "
                "not exist, cannot be loaded due to missing permissions, or does not support "
                "this operation.",
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
            }
        },
    )
    response = logged_in(client, owner).post(f"/numbers/{account.pk}/test/", follow=True)
    html = response.content.decode()
    assert "Phone number:</strong> works" in html
    assert f"The WABA id {account.waba_id} was not found" in html
    assert "code 100" in html
    account.refresh_from_db()
    assert account.state == "active"  # a wrong id is not the account's health


@responses.activate
def test_a_wrong_phone_number_id_is_named(client, owner, account):
    responses.add(
        responses.GET,
        graph(account.phone_number_id),
        status=400,
        json={"error": {"message": "Unsupported get request.", "code": 100, "error_subcode": 33}},
    )
    responses.add(responses.GET, graph(f"{account.waba_id}/message_templates"), json={"data": []})
    html = logged_in(client, owner).post(f"/numbers/{account.pk}/test/", follow=True)
    html = html.content.decode()
    assert f"The phone number id {account.phone_number_id} was not found" in html
    assert "no templates yet" in html


def test_a_passing_test_clears_needs_attention(client, owner, account, sandbox):
    WhatsAppAccount.objects.filter(pk=account.pk).update(
        state="needs_attention", state_reason="token expired"
    )
    logged_in(client, owner).post(f"/numbers/{account.pk}/test/")
    account.refresh_from_db()
    assert account.state == "active"


def test_member_test_is_refused_with_a_message(client, member, account, sandbox):
    response = logged_in(client, member).post(f"/numbers/{account.pk}/test/", follow=True)
    assert "Only a workspace owner" in " ".join(texts(response))
    assert sandbox.stats()  # reachable; the point is that nothing was asked of it
    inline = client.post(f"/numbers/{account.pk}/test/", HTTP_HX_REQUEST="true")
    assert "Only a workspace owner" in inline.content.decode()
