"""Redis stopped mid-campaign and started again: with its keys kept (a graceful restart, its
append-only file), and empty (killed without persistence: limiter state, sender slots, send
marks and the broker's queues gone). A Redis of the test's own, never the machine's.
Afterwards nothing was sent twice (the sandbox counts), nobody is lost, the counters equal a
recount, and the campaign completed."""

import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Recipient
from campaigns.services.sending import campaign_send
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from .processes import Worker
from .test_crash_recovery import draft_with_recipients, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A redis-server of this test's own. `keep`: an append-only file in `folder` (a graceful
    stop and start keeps every key); else no persistence (a restart comes back empty)."""

    def __init__(self, port: int, folder, *, keep: bool):
        self.port, self.folder, self.keep = port, folder, keep
        self.proc = None
        self.start()

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.keep else [
            "--appendonly", "no"
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", str(self.folder), *persistence],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if self.keep:
                self.proc.terminate()  # a graceful shutdown: the file has every key
            else:
                self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.mark.parametrize("keep", [True, False], ids=["keys kept", "restarted empty"])
def test_redis_stopped_and_started_again_mid_campaign(
    sandbox, workspace_a, owner, settings, tmp_path, keep
):
    n = 600
    redis = OwnRedis(free_port(), tmp_path, keep=keep)
    url = f"redis://127.0.0.1:{redis.port}/0"
    settings.REDIS_URL = url  # this process's sweeps and control reads go to it too
    settings.ENGINE_LEASE_SECONDS = 10
    campaign = draft_with_recipients(workspace_a, n, rate_limit=40, worker_count=10)
    # The worker's beat starts the campaign (its broker is the test's own Redis).
    campaign_send(user=owner, campaign=campaign, send_at=timezone.now() + timedelta(seconds=1))
    worker = Worker("celery", beat=True, REDIS_URL=url, ENGINE_LEASE_SECONDS=10)
    try:
        wait_for(lambda: sandbox.stats()["accepted_total"] >= 100, 60, "the first sends")
        redis.stop()
        time.sleep(3)
        redis.start()  # with its keys, or empty

        def done():
            # The worker's beat sweeps (every 15 s): not this process, whose Celery app
            # publishes to the machine's Redis, where no worker of this test reads; its
            # markers of senders "on their way" would hold back the beat's restarts.
            campaign.refresh_from_db()
            return campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.PAUSED)

        wait_for(done, 150, "the campaign to complete")
    finally:
        worker.stop()
        redis.stop()
    stats = sandbox.stats()
    rows = Recipient.objects.filter(campaign=campaign)
    by_status = {s: rows.filter(status=s).count() for s in Recipient.Status.values}
    assert stats["duplicate_sends"] == 0, (stats, by_status)
    assert sum(by_status.values()) == n
    assert by_status["pending"] == by_status["sending"] == 0, by_status
    assert campaign.status == Campaign.Status.COMPLETED, campaign.status_reason
    assert by_status["sent"] + by_status["unknown"] + by_status["failed"] == n
    assert stats["accepted_total"] >= by_status["sent"]
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
