"""Admin: webhook events can be reprocessed; pending statuses are visible."""

import hashlib
import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from campaigns.models import PendingStatus, Recipient
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_drain

from . import payloads as p
from .conftest import assert_counters_match

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


@pytest.fixture
def failed_event(account):
    body = p.dumps(p.statuses(account, p.status("wamid.A", "read")))
    return WebhookEvent.objects.create(
        account=account,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        status=WebhookEvent.Status.FAILED,
        attempts=5,
        error="RuntimeError: boom",
    )


def test_reprocess_action_queues_the_events_again(
    admin_client, failed_event, queued_drains, django_capture_on_commit_callbacks
):
    url = reverse("admin:webhooks_webhookevent_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"action": "reprocess", "_selected_action": [failed_event.pk]}, follow=True
        )

    assert response.status_code == 200
    failed_event.refresh_from_db()
    assert (failed_event.status, failed_event.attempts, failed_event.error) == ("pending", 0, "")
    assert len(queued_drains) == 1


@pytest.mark.parametrize("model", ["webhooks_webhookevent", "campaigns_pendingstatus"])
def test_admin_pages_load(admin_client, failed_event, account, model):
    PendingStatus.objects.create(
        account=account,
        wamid="wamid.P",
        status="sent",
        timestamp=failed_event.received_at,
        payload={"id": "wamid.P"},
    )
    obj = failed_event if model == "webhooks_webhookevent" else PendingStatus.objects.get()
    for url in (
        reverse(f"admin:{model}_changelist"),
        reverse(f"admin:{model}_change", args=[obj.pk]),
    ):
        assert admin_client.get(url).status_code == 200


def reprocess(admin_client, *events):
    url = reverse("admin:webhooks_webhookevent_changelist")
    ids = [e.pk for e in events]
    return admin_client.post(url, {"action": "reprocess", "_selected_action": ids}, follow=True)


def test_reprocess_reapplies_a_failed_event_once(
    admin_client, failed_event, make_recipient, django_capture_on_commit_callbacks
):
    # given a sent message whose "read" status failed to apply
    recipient = make_recipient(status="sent", wamid="wamid.A")

    # when staff reprocess it and the queued drain runs
    with django_capture_on_commit_callbacks(execute=True):
        assert "1 event(s) queued" in reprocess(admin_client, failed_event).content.decode()
    webhook_events_drain()

    # then the event is processed and the recipient read, counted once
    failed_event.refresh_from_db()
    recipient.refresh_from_db()
    assert (failed_event.status, failed_event.statuses_count) == ("processed", 1)
    assert recipient.status == "read"
    counts = assert_counters_match(recipient.campaign_id)

    # and reprocessing it again changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        reprocess(admin_client, failed_event)
    webhook_events_drain()
    failed_event.refresh_from_db()
    assert failed_event.status == "processed"
    assert Recipient.objects.get(pk=recipient.pk).status == "read"
    assert assert_counters_match(recipient.campaign_id) == counts


def test_event_page_shows_the_body_pretty_printed_and_escaped(admin_client, account):
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "<b>x</b>"}]})
    event = WebhookEvent.objects.create(
        account=account, body=body.encode(), body_sha256=hashlib.sha256(body.encode()).hexdigest()
    )
    html = admin_client.get(reverse("admin:webhooks_webhookevent_change", args=[event.pk]))
    html = html.content.decode()
    assert '<pre class="webhook-body">{\n  &quot;object&quot;: ' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html
    # read-only: no form field for what the drain owns
    assert 'name="status"' not in html
    assert 'name="attempts"' not in html


def test_event_post_cannot_change_its_state(admin_client, failed_event):
    url = reverse("admin:webhooks_webhookevent_change", args=[failed_event.pk])
    response = admin_client.post(url, {"status": "processed", "attempts": "0", "error": ""})
    assert response.status_code == 403
    failed_event.refresh_from_db()
    assert (failed_event.status, failed_event.attempts) == ("failed", 5)


def test_event_search_by_id_or_hash(admin_client, failed_event):
    url = reverse("admin:webhooks_webhookevent_changelist")
    for term in (str(failed_event.pk), failed_event.body_sha256.upper()):
        html = admin_client.get(url, {"q": term}).content.decode()
        assert f"/{failed_event.pk}/change/" in html
    html = admin_client.get(url, {"q": "not-a-hash"}).content.decode()
    assert f"/{failed_event.pk}/change/" not in html
