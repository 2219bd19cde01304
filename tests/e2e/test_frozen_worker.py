"""A worker frozen (SIGSTOP: a VM pause, a GC stall) past its lease, while holding a claimed
batch: another worker recovers the batch and finishes the campaign; when the first wakes
(SIGCONT) it must not send what it held, because its lease is gone. The sandbox counts every
request: zero duplicates."""

import os
import signal
import time

import pytest

from campaigns.engine import control
from campaigns.engine.runner import sweep
from campaigns.models import Recipient
from campaigns.services.sending import campaign_send
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from .processes import Worker
from .test_crash_recovery import (  # noqa: F401  (queue: the fixture)
    draft_with_recipients,
    queue,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_worker_that_wakes_after_its_lease_sends_nothing_it_held(
    sandbox,
    workspace_a,
    owner,
    queue,  # noqa: F811
    settings,
):
    n = 300
    settings.ENGINE_LEASE_SECONDS = 3
    campaign = draft_with_recipients(
        workspace_a, n, prefix="+1415556", rate_limit=20, worker_count=4
    )

    # Frozen inside a transaction, the worker would hold its rows' locks: PostgreSQL ends
    # that transaction after DB_IDLE_IN_TRANSACTION_TIMEOUT, and the sweep skips locked rows
    # meanwhile instead of waiting behind them.
    idle = {"DB_IDLE_IN_TRANSACTION_TIMEOUT": "5"}
    first = Worker(queue, **idle)
    second = None
    try:
        campaign_send(user=owner, campaign=campaign)
        wait_for(lambda: sandbox.stats()["accepted_total"] >= 60, 60, "the first sends")
        held = Recipient.objects.filter(campaign=campaign, status="sending").count()
        assert held > 0, "the first worker should hold a claimed batch"
        os.killpg(first.proc.pid, signal.SIGSTOP)  # frozen: no heartbeat, no sends

        second = Worker(queue, **idle)
        time.sleep(control.HEARTBEAT_TTL + settings.ENGINE_LEASE_SECONDS + 1)

        def done():
            sweep()  # what beat does: recover the frozen worker's claims, restart senders
            campaign.refresh_from_db()
            return campaign.status == "completed"

        wait_for(done, 120, "the campaign to complete on the second worker")
        before_wake = sandbox.stats()["accepted_total"]
        os.killpg(first.proc.pid, signal.SIGCONT)  # it wakes, still holding its batch
        time.sleep(6)
    finally:
        if first.proc.poll() is None:
            os.killpg(first.proc.pid, signal.SIGCONT)
        first.stop()
        if second:
            second.stop()

    stats = sandbox.stats()
    assert stats["duplicate_sends"] == 0, f"{stats['duplicate_sends']} recipients sent twice"
    assert stats["accepted_total"] == before_wake  # the woken worker sent nothing
    rows = Recipient.objects.filter(campaign=campaign)
    by_status = {s: rows.filter(status=s).count() for s in ("sent", "unknown", "failed")}
    assert by_status["sent"] + by_status["unknown"] == n  # nobody lost
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
