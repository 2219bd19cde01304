"""The WSGI fast path answers webhook POSTs itself, exactly as the view would."""

import io
from types import SimpleNamespace

import pytest

from webhooks.models import WebhookEvent
from webhooks.wsgi import webhook_fast_path

from . import payloads as p

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_transaction(monkeypatch):
    # Recycling connections would close the test's transaction (Django's test client
    # disconnects the same handler for the same reason).
    monkeypatch.setattr("webhooks.wsgi.db", SimpleNamespace(close_old_connections=lambda: None))


class Inner:
    def __init__(self):
        self.calls = []

    def __call__(self, environ, start_response):
        self.calls.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        start_response("204 No Content", [])
        return [b""]


def call(app, body=b"", *, method="POST", path="/webhooks/whatsapp/", signature=None, length=True):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_TYPE": "application/json",
    }
    if length:
        environ["CONTENT_LENGTH"] = str(len(body))
    if signature:
        environ["HTTP_X_HUB_SIGNATURE_256"] = signature
    seen = []
    out = b"".join(app(environ, lambda status, headers: seen.append(status)))
    return int(seen[0].split()[0]), out


def test_signed_post_is_stored_and_answered_200_without_django(account):
    inner = Inner()
    body = p.dumps(p.statuses(account, p.status("wamid.A", "sent")))

    status, _ = call(webhook_fast_path(inner), body, signature=p.sign(body, account.app_secret))

    assert status == 200
    assert inner.calls == []
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    assert event.status == "pending"


@pytest.mark.parametrize(("signature", "expected"), [(None, 401), ("sha256=" + "0" * 64, 403)])
def test_bad_signatures_are_refused(account, signature, expected):
    body = p.dumps(p.statuses(account, p.status("wamid.A", "sent")))
    assert call(webhook_fast_path(Inner()), body, signature=signature)[0] == expected
    assert not WebhookEvent.objects.exists()


def test_oversized_bodies_are_refused(account, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1024
    body = p.dumps(p.text(account, "+447700900123", "x" * 2048))
    signature = p.sign(body, account.app_secret)
    app = webhook_fast_path(Inner())
    assert call(app, body, signature=signature)[0] == 413
    assert call(app, body, signature=signature, length=False)[0] == 413  # chunked
    assert not WebhookEvent.objects.exists()


def test_everything_else_goes_to_django():
    inner = Inner()
    app = webhook_fast_path(inner)
    assert call(app, method="GET")[0] == 204
    assert call(app, path="/admin/")[0] == 204
    assert inner.calls == [("GET", "/webhooks/whatsapp/"), ("POST", "/admin/")]


def test_a_failure_is_a_500_so_that_meta_retries(account, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr("webhooks.services.webhook_receive", broken)
    body = p.dumps(p.statuses(account, p.status("wamid.A", "sent")))
    assert call(webhook_fast_path(Inner()), body, signature="sha256=x")[0] == 500


def test_the_handshake_still_works_through_django(account):
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    app = webhook_fast_path(get_wsgi_application())
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/webhooks/whatsapp/",
        "QUERY_STRING": f"hub.mode=subscribe&hub.verify_token={account.verify_token}"
        "&hub.challenge=4242",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
    }
    seen = []
    # As Django's test client does: keep the test's transaction open across the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = app(environ, lambda status, headers: seen.append(status))
        body = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert seen[0].startswith("200")
    assert body == b"4242"
