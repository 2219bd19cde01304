"""Meta restricts the account while a campaign sends: the signed account_update webhook,
received and drained, pauses the campaign with the restriction's reason, and the sends at the
sandbox stop within a second (real worker processes)."""

import time

import pytest
from django.test import Client

from campaigns.models import Campaign
from campaigns.services.sending import campaign_send
from webhooks.services import webhook_events_drain
from whatsapp.models import WhatsAppAccount

from ..webhooks.payloads import dumps, sign
from .processes import Worker
from .test_crash_recovery import (
    draft_with_recipients,
    queue,  # noqa: F401 (the fixture)
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_restriction_stops_a_running_campaign_within_a_second(
    sandbox,
    workspace_a,
    owner,
    queue,  # noqa: F811 (the fixture)
):
    campaign = draft_with_recipients(workspace_a, 2_000, rate_limit=50, worker_count=10)
    account = WhatsAppAccount.objects.get(pk=campaign.account_id)
    worker = Worker(queue)
    try:
        campaign_send(user=owner, campaign=campaign)
        wait_for(lambda: sandbox.stats()["accepted_total"] >= 50, 60, "the first sends")
        now = int(time.time())
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": account.waba_id,
                    "time": now,
                    "changes": [
                        {
                            "field": "account_update",
                            "value": {
                                "event": "ACCOUNT_RESTRICTION",
                                "restriction_info": [
                                    {
                                        "restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                                        "expiration": now + 3600,
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
        body = dumps(payload)
        answer = Client().post(
            "/webhooks/whatsapp/",
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=sign(body, account.app_secret),
        )
        assert answer.status_code == 200
        webhook_events_drain()
        applied_at = time.monotonic()
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.PAUSED
        assert "restricted this account from starting conversations" in campaign.status_reason

        time.sleep(1.0)  # the senders notice the halt within a fraction of a second
        stopped_at = sandbox.stats()["accepted_total"]
        time.sleep(2.0)
        assert sandbox.stats()["accepted_total"] == stopped_at, "sends went on after a second"
        assert stopped_at < 2_000
        assert time.monotonic() - applied_at < 10
    finally:
        worker.stop()
