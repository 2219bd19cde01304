"""The workers' PostgreSQL connections terminated mid-campaign (a restart, a failover,
`pg_terminate_backend`): the senders reconnect and go on recording, the campaign completes,
nobody is sent twice or lost, and the counters equal a recount."""

import time

import pytest
from django.db import connection

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


def terminate_connections_of(application: str) -> int:
    """Terminate the worker's connections only (named by PGAPPNAME): the live server that
    other tests of this process share holds connections to the same database."""
    with connection.cursor() as c:
        c.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [application],
        )
        return c.fetchone()[0]


def test_senders_survive_their_connections_being_terminated(
    sandbox,
    workspace_a,
    owner,
    queue,  # noqa: F811
    settings,
):
    if connection.vendor != "postgresql":
        pytest.skip("terminating connections is PostgreSQL's")
    n = 400
    settings.ENGINE_LEASE_SECONDS = 3
    campaign = draft_with_recipients(
        workspace_a, n, prefix="+1415557", rate_limit=40, worker_count=8
    )
    application = f"worker-{queue}"
    worker = Worker(queue, PGAPPNAME=application)
    try:
        campaign_send(user=owner, campaign=campaign)
        wait_for(lambda: sandbox.stats()["accepted_total"] >= 60, 60, "the first sends")
        for _ in range(3):  # a few times over, while it sends
            assert terminate_connections_of(application) >= 1
            time.sleep(1.5)
        # Still recording: what was sent a moment ago is no longer `sending`.
        time.sleep(2)
        accepted = sandbox.stats()["accepted_total"]
        recorded = Recipient.objects.filter(campaign=campaign).exclude(
            status__in=["pending", "sending"]
        )
        assert recorded.count() >= accepted - 2 * campaign.rate_limit

        def done():
            sweep()
            campaign.refresh_from_db()
            return campaign.status == "completed"

        wait_for(done, 90, "the campaign to complete")
    finally:
        worker.stop()

    stats = sandbox.stats()
    assert stats["duplicate_sends"] == 0
    rows = Recipient.objects.filter(campaign=campaign)
    assert rows.filter(status__in=["sent", "unknown"]).count() == n  # nobody lost
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
