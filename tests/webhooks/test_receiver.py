"""The receiver: verification handshake, signature, durable storage, fast answer."""

import hashlib

import pytest
from django.test import override_settings

from webhooks.models import WebhookEvent

from ..factories import WhatsAppAccountFactory
from . import payloads as p
from .conftest import URL

pytestmark = pytest.mark.django_db


# --- GET: verification handshake (docs/whatsapp.md §5.1) ----------------------------------------


def test_right_verify_token_echoes_the_challenge(client, account):
    WhatsAppAccountFactory(verify_token="another-token")
    response = client.get(
        URL,
        {
            "hub.mode": "subscribe",
            "hub.verify_token": account.verify_token,
            "hub.challenge": "1158",
        },
    )
    assert response.status_code == 200
    assert response.content == b"1158"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "TOKEN", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"},
        {},
    ],
)
def test_wrong_verify_token_or_mode_is_forbidden(client, account, params):
    if params.get("hub.verify_token") == "TOKEN":
        params = {**params, "hub.verify_token": account.verify_token}
    assert client.get(URL, params).status_code == 403


# --- POST: signature (docs/whatsapp.md §5.2) -----------------------------------------------------


def test_signed_post_is_stored_raw_and_answered_200(post, account, queued_drains):
    # given a body with non-ASCII text: the signature covers the raw bytes, not re-encoded JSON
    payload = p.text(account, "+447700900123", "Olá, obrigado 🙏")
    body = p.dumps(payload)

    response = post(payload, account=account, body=body)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    assert event.body_sha256 == hashlib.sha256(body).hexdigest()
    assert event.account_id == account.id
    assert event.status == WebhookEvent.Status.PENDING
    assert event.received_at is not None


def test_missing_signature_is_401_and_nothing_stored(post, account):
    assert post(p.statuses(account, p.status("wamid.A", "sent"))).status_code == 401
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "signature",
    ["sha256=" + "0" * 64, "sha256=nothex", "sha1=" + "0" * 40, "garbage", "sha256="],
)
def test_wrong_signature_is_403_and_nothing_stored(post, account, signature):
    response = post(p.statuses(account, p.status("wamid.A", "sent")), signature=signature)
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_signature_with_another_accounts_secret_is_403(post, account):
    other = WhatsAppAccountFactory()
    payload = p.statuses(account, p.status("wamid.A", "sent"))
    assert post(payload, secret=other.app_secret).status_code == 403
    assert not WebhookEvent.objects.exists()


def test_payload_for_an_unknown_number_is_403(post, account):
    payload = p.statuses(account, p.status("wamid.A", "sent"))
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert post(payload, account=account).status_code == 403
    assert not WebhookEvent.objects.exists()


def test_uppercase_hex_signature_is_accepted(post, account):
    payload = p.statuses(account, p.status("wamid.A", "sent"))
    body = p.dumps(payload)
    signature = "sha256=" + p.sign(body, account.app_secret).removeprefix("sha256=").upper()
    assert post(payload, body=body, signature=signature).status_code == 200


def test_template_update_is_verified_with_the_secret_of_an_account_of_its_waba(post, account):
    # given two numbers under one WABA, on two Meta apps with different secrets
    sibling = WhatsAppAccountFactory(workspace=account.workspace, waba_id=account.waba_id)
    payload = p.template_update(
        account.waba_id, meta_id="1593027718840066", name="x", language="en", event="APPROVED"
    )

    response = post(payload, account=sibling)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().account_id == sibling.id


def test_an_account_created_in_another_process_is_found_on_a_miss(post, account, monkeypatch):
    from webhooks.services import directory
    from whatsapp.models import WhatsAppAccount

    directory.get_directory()  # cached; then a number is connected without a signal here
    newer = WhatsAppAccountFactory.build(workspace=account.workspace)
    WhatsAppAccount.objects.bulk_create([newer])
    monkeypatch.setattr(directory, "MIN_RELOAD_SECONDS", 0.0)

    assert post(p.statuses(newer, p.status("wamid.A", "sent")), account=newer).status_code == 200


def test_rotated_secret_takes_effect_at_once(post, account):
    payload = p.statuses(account, p.status("wamid.A", "sent"))
    assert post(payload, account=account).status_code == 200
    account.app_secret = "rotated-secret-000001"
    account.save()
    assert post(payload, secret="rotated-secret-000001").status_code == 200


def test_post_is_csrf_exempt(account):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    payload = p.statuses(account, p.status("wamid.A", "sent"))
    body = p.dumps(payload)
    response = strict.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=p.sign(body, account.app_secret),
    )
    assert response.status_code == 200


def test_other_methods_are_refused(client):
    assert client.put(URL).status_code == 405


# --- Malformed and oversized bodies ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"object": "page", "entry": []}', "object is 'page'"),
        (b'{"object": "whatsapp_business_account", "entry": "x"}', "entry is not a list"),
        (b'{"object": "whatsapp_business_account", "entry": []}', "names no phone number"),
        (b"\xff\xfe\x00", "not JSON"),
    ],
)
def test_malformed_body_with_valid_signature_is_stored_rejected_and_answered_200(
    post, account, queued_drains, body, reason
):
    response = post(None, account=account, body=body)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.REJECTED
    assert reason in event.error
    assert event.account_id == account.id
    assert queued_drains == []


def test_malformed_body_with_a_bad_signature_is_403(post, account):
    response = post(None, body=b"{not json", signature="sha256=" + "1" * 64)
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


@override_settings(WEBHOOK_MAX_BODY_BYTES=2048)
def test_oversized_body_is_413_and_not_stored(post, account):
    payload = p.text(account, "+447700900123", "x" * 4096)
    assert post(payload, account=account).status_code == 413
    assert not WebhookEvent.objects.exists()


def test_body_over_metas_3_mb_is_413(post, account):
    payload = p.text(account, "+447700900123", "x" * (3 * 1024 * 1024))
    assert post(payload, account=account).status_code == 413
    assert not WebhookEvent.objects.exists()


# --- Processing is triggered after commit, cheaply ------------------------------------------


def test_drain_is_queued_after_commit_at_most_once_a_second(
    post, account, queued_drains, django_capture_on_commit_callbacks
):
    payload = p.statuses(account, p.status("wamid.A", "sent"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(5):
            assert post(payload, account=account).status_code == 200

    assert len(callbacks) == 5
    assert len(queued_drains) == 1  # the Redis flag debounces the other four
    assert WebhookEvent.objects.count() == 5


def test_nothing_is_queued_before_commit(post, account, queued_drains):
    post(p.statuses(account, p.status("wamid.A", "sent")), account=account)
    assert queued_drains == []  # the test's transaction never commits


def test_redis_outage_does_not_fail_the_post(
    post, account, monkeypatch, django_capture_on_commit_callbacks
):
    import redis

    def broken():
        raise redis.ConnectionError("down")

    monkeypatch.setattr("webhooks.services.drain.get_redis", broken)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(p.statuses(account, p.status("wamid.A", "sent")), account=account)
    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": 5}]}', "names"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["changes not a list", "deeply nested"],
)
def test_hostile_shapes_are_refused_without_a_500(post, account, body, reason):
    signed = post(None, account=account, body=body)
    assert signed.status_code == 200
    assert reason in WebhookEvent.objects.get().error
    unsigned = post(None, body=body, signature="sha256=" + "1" * 64)
    assert unsigned.status_code in (401, 403)
    assert WebhookEvent.objects.count() == 1
