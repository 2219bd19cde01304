"""A THROUGHPUT_UPGRADE from Meta while a campaign runs: the running senders pick the number's
new throughput up within seconds, and the rate measured at the sandbox rises."""

import time

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services.sending import campaign_send
from whatsapp.health import number_update_apply
from whatsapp.models import WhatsAppAccount
from whatsapp.webhook_account import NUMBER_FIELD, NumberUpdate

from .processes import Worker
from .test_crash_recovery import (
    draft_with_recipients,
    queue,  # noqa: F401 (the fixture)
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def rate_at_sandbox(sandbox, seconds: float) -> float:
    first = sandbox.stats()["accepted_total"]
    time.sleep(seconds)
    return (sandbox.stats()["accepted_total"] - first) / seconds


def test_a_throughput_upgrade_raises_a_running_campaigns_rate(
    sandbox,
    workspace_a,
    owner,
    queue,  # noqa: F811 (the fixture)
):
    campaign = draft_with_recipients(workspace_a, 3_000, rate_limit=1000, worker_count=50)
    account = campaign.account
    WhatsAppAccount.objects.filter(pk=account.pk).update(
        throughput=WhatsAppAccount.Throughput.COEXISTENCE,
        display_phone_number="15550783881",
        messaging_limit_tier=WhatsAppAccount.Tier.UNLIMITED,
    )
    worker = Worker(queue)
    try:
        campaign_send(user=owner, campaign=campaign)
        wait_for(lambda: sandbox.stats()["accepted_total"] >= 20, 60, "the first sends")
        before = rate_at_sandbox(sandbox, 2.0)
        assert before <= 20 * 1.3, before  # the number's 20 msg/s

        number_update_apply(
            account_ids=[account.pk],
            update=NumberUpdate(
                field=NUMBER_FIELD,
                event="THROUGHPUT_UPGRADE",
                at=timezone.now(),
                display_phone_number="15550783881",
            ),
        )
        upgraded_at, sent_then = time.monotonic(), sandbox.stats()["accepted_total"]
        # The senders re-read the number's limits every 5 s; the rest, at the old 20 msg/s,
        # would take over two minutes.
        wait_for(lambda: sandbox.stats()["accepted_total"] >= 3_000, 60, "the last sends")
        after = (3_000 - sent_then) / (time.monotonic() - upgraded_at)
        assert after >= 5 * before, (before, after)
        wait_for(
            lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED,
            30,
            "the campaign to complete",
        )
        assert sandbox.stats()["accepted_total"] == 3_000
    finally:
        worker.stop()
