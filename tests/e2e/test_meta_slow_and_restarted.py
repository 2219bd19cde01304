"""Meta misbehaving, continued (issue 18): answers slower than the read timeout, and the
Graph API gone (the sandbox killed) and back (started again on the same port) mid-campaign.

A request that may have reached Meta ends `unknown`, never re-sent; one that never left is
retried. Afterwards nothing was sent twice, nobody is lost (every recipient is sent or
unknown), the counters equal a recount, and the campaign completed, or paused with a reason
an operator can act on (then resumed, it completes)."""

import time

import pytest

from campaigns.engine.runner import sweep
from campaigns.models import Campaign, Recipient
from campaigns.services.sending import campaign_resume, campaign_send
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from ..sandbox import Sandbox
from .processes import Worker
from .test_crash_recovery import (
    draft_with_recipients,
    queue,  # noqa: F401 (the fixture)
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def by_status(campaign) -> dict:
    rows = Recipient.objects.filter(campaign=campaign)
    return {s: rows.filter(status=s).count() for s in Recipient.Status.values}


def finish(campaign, owner, timeout=120) -> None:
    """Wait for the campaign to complete; a pause must say why, and resuming completes it."""

    def settled():
        sweep()  # what beat does: restart senders whose retries are due
        campaign.refresh_from_db()
        return campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.PAUSED)

    deadline = time.monotonic() + timeout
    while True:
        wait_for(settled, max(1, deadline - time.monotonic()), "the campaign to settle")
        if campaign.status == Campaign.Status.COMPLETED:
            return
        assert campaign.status_reason, "paused without a reason"
        campaign_resume(user=owner, campaign=campaign)


def assert_nobody_lost(campaign) -> dict:
    counts = by_status(campaign)
    assert counts["pending"] == counts["sending"] == 0, counts
    assert counts["sent"] + counts["unknown"] == campaign.total_recipients, counts
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
    return counts


def test_answers_slower_than_the_read_timeout_end_unknown_and_are_never_resent(
    workspace_a,
    owner,
    settings,
    queue,  # noqa: F811 (the fixture)
):
    slow = Sandbox("--no-webhooks", "--mps", "1000", "--latency-ms", "0-1200")
    settings.WHATSAPP_GRAPH_URL = slow.url
    n = 120
    campaign = draft_with_recipients(workspace_a, n, rate_limit=60, worker_count=10)
    worker = Worker(queue, WHATSAPP_READ_TIMEOUT="0.6")
    try:
        campaign_send(user=owner, campaign=campaign)
        finish(campaign, owner)
        stats = slow.stats(detail="true")
    finally:
        worker.stop()
        slow.close()
    counts = assert_nobody_lost(campaign)
    assert stats["duplicate_sends"] == 0, stats["duplicate_examples"]
    # Every request reached the sandbox once: the unknown ones too (Meta accepted them, its
    # answer was late), and none was sent again.
    assert stats["accepted_total"] == n, (stats["accepted_total"], counts)
    assert set(stats["per_recipient"].values()) == {1}
    assert counts["unknown"] > 0, counts  # the fault happened
    assert counts["sent"] > 0, counts
    unknown = Recipient.objects.filter(campaign=campaign, status="unknown").first()
    assert unknown.error_title == "Outcome unknown"
    assert unknown.attempts == 1


def test_the_graph_api_killed_and_started_again_mid_campaign(
    workspace_a,
    owner,
    settings,
    queue,  # noqa: F811 (the fixture)
):
    first = Sandbox("--no-webhooks", "--mps", "1000")
    settings.WHATSAPP_GRAPH_URL = first.url
    n = 300
    campaign = draft_with_recipients(workspace_a, n, rate_limit=50, worker_count=10)
    worker = Worker(queue)
    second = None
    try:
        campaign_send(user=owner, campaign=campaign)
        wait_for(lambda: first.stats()["accepted_total"] >= 60, 60, "the first sends")
        before = first.stats(detail="true")
        first.proc.kill()  # no goodbye: connections drop, new ones are refused
        first.proc.wait(timeout=10)
        time.sleep(3)  # Meta gone for a while: sends fail to connect and are retried
        second = Sandbox("--no-webhooks", "--mps", "1000", port=first.port)
        finish(campaign, owner, timeout=180)
        after = second.stats(detail="true")
    finally:
        worker.stop()
        if second is not None:
            second.close()
    counts = assert_nobody_lost(campaign)
    assert before["duplicate_sends"] == after["duplicate_sends"] == 0
    # Nobody reached Meta twice, across the two processes (the first's figures were read a
    # moment before it was killed).
    old, new = before["per_recipient"], after["per_recipient"]
    assert not set(old) & set(new), sorted(set(old) & set(new))[:5]
    assert set(old.values()) <= {1}
    assert set(new.values()) <= {1}
    assert after["accepted_total"] > 0  # it carried on against the new process
    assert counts["sent"] > len(old)  # … and sent to recipients the first never saw
