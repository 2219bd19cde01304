"""Admin: webhook events can be reprocessed; pending statuses are visible."""

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from campaigns.models import PendingStatus
from webhooks.models import WebhookEvent

from . import payloads as p

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
