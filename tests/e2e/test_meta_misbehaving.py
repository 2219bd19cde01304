"""Meta misbehaving mid-campaign: bursts of 130429 (throughput), 503 (131016) and 500 (131000,
"may or may not have been sent") from the sandbox. Afterwards nothing was sent twice, nobody
is lost, the counters equal a recount, and the campaign completed."""

import pytest
import requests

from campaigns.engine.runner import sweep
from campaigns.models import Campaign, Recipient
from campaigns.services.sending import campaign_send
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from .processes import Worker
from .test_crash_recovery import (
    draft_with_recipients,
    queue,  # noqa: F401 (the fixture)
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def burst(sandbox, code: int, count: int) -> None:
    answer = requests.post(
        f"{sandbox.url}/__sandbox/burst", json={"code": code, "count": count}, timeout=5
    )
    answer.raise_for_status()


def test_bursts_of_meta_errors_mid_campaign(
    sandbox,
    workspace_a,
    owner,
    queue,  # noqa: F811 (the fixture)
):
    n = 300
    campaign = draft_with_recipients(workspace_a, n, rate_limit=50, worker_count=10)
    worker = Worker(queue)
    try:
        campaign_send(user=owner, campaign=campaign)
        wait_for(lambda: sandbox.stats()["accepted_total"] >= 50, 60, "the first sends")
        for code, count in ((130429, 60), (131016, 30), (131000, 20)):
            before = sandbox.stats()["accepted_total"]
            burst(sandbox, code, count)
            # The burst is over once sends are accepted again.
            wait_for(lambda b=before: sandbox.stats()["accepted_total"] > b + 5, 60, f"{code}")

        def done():
            sweep()  # what beat does: restart senders whose retries are due
            campaign.refresh_from_db()
            return campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.PAUSED)

        wait_for(done, 120, "the campaign to complete")
    finally:
        worker.stop()
    stats = sandbox.stats()
    rows = Recipient.objects.filter(campaign=campaign)
    by_status = {s: rows.filter(status=s).count() for s in Recipient.Status.values}
    assert stats["duplicate_sends"] == 0, (stats, by_status)
    assert campaign.status == Campaign.Status.COMPLETED, campaign.status_reason
    assert by_status["pending"] == by_status["sending"] == 0, by_status
    assert by_status["sent"] + by_status["unknown"] + by_status["failed"] == n, by_status
    assert stats["accepted_total"] >= by_status["sent"]
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
