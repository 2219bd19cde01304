"""kill -9 of the worker mid-campaign: after a restart the campaign completes with zero
duplicate sends (the sandbox counts them) and no recipient lost."""

import time
import uuid

import pytest
from django.utils import timezone

from campaigns.engine.runner import sweep
from campaigns.models import Campaign, Recipient
from campaigns.services.sending import campaign_send
from campaigns.tracking.counters import counts_from_recipients, stored_counts
from campaigns.tracking.timeline import stored_timeline, timeline_from_recipients
from config.celery import app as celery_app

from ..campaigns.conftest import make_template
from ..factories import CampaignFactory
from ..templates_app import meta_shapes
from .processes import Worker

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VALUES = {
    "body_param_1": "Ana",
    "body_param_2": "PK-1",
    "body_param_3": "today",
    "body_param_4": "9-12",
}


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def draft_with_recipients(workspace, n: int, *, prefix="+1415555", **fields) -> Campaign:
    """A draft of `n` recipients for the delivery_window template, its counters set."""
    template = make_template(workspace, meta_shapes.DELIVERY_WINDOW)
    campaign = CampaignFactory(template=template, **fields)
    Recipient.objects.bulk_create(
        [Recipient(campaign=campaign, phone=f"{prefix}{i:04d}", values=VALUES) for i in range(n)]
    )
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=n, pending_count=n)
    return campaign


@pytest.fixture
def queue(settings):
    name = f"e2e-{uuid.uuid4().hex[:10]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    yield name
    celery_app.conf.task_default_queue = previous


def test_kill_9_mid_campaign_then_restart_completes_without_duplicates(
    sandbox, workspace_a, owner, queue, settings
):
    n = 400
    settings.ENGINE_LEASE_SECONDS = 3
    campaign = draft_with_recipients(workspace_a, n, rate_limit=100, worker_count=20)

    first = Worker(queue)
    second = None
    try:
        campaign_send(user=owner, campaign=campaign)
        wait_for(lambda: sandbox.stats()["accepted_total"] >= 100, 60, "the first sends")
        first.kill9()
        accepted_at_kill = sandbox.stats()["accepted_total"]
        assert accepted_at_kill < n
        stuck = Recipient.objects.filter(campaign=campaign, status="sending").count()

        second = Worker(queue)
        time.sleep(settings.ENGINE_LEASE_SECONDS + 0.5)

        def done():
            sweep()  # what beat does every few seconds: recover dead claims, restart senders
            campaign.refresh_from_db()
            return campaign.status == "completed"

        wait_for(done, 90, "the campaign to complete")
    finally:
        first.stop()
        if second:
            second.stop()

    stats = sandbox.stats()
    rows = Recipient.objects.filter(campaign=campaign)
    by_status = {
        s: rows.filter(status=s).count()
        for s in ("sent", "unknown", "pending", "sending", "failed")
    }
    assert stats["duplicate_sends"] == 0
    assert by_status["pending"] == by_status["sending"] == by_status["failed"] == 0
    assert by_status["sent"] + by_status["unknown"] == n  # nobody lost
    # an unknown recipient is one whose request may have left when the worker died
    assert by_status["unknown"] <= stuck
    assert stats["accepted_total"] >= by_status["sent"]
    assert stats["accepted_total"] <= n
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
    assert stored_timeline(campaign_id=campaign.pk) == timeline_from_recipients(
        campaign_id=campaign.pk
    )
    assert campaign.completed_at <= timezone.now()
