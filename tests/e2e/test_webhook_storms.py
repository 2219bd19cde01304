"""Webhook storms (issue 18) against the receiver as production runs it (gunicorn with
gunicorn.conf.py and config.wsgi's fast path, on the test's database): every status delivered
ten times, concurrently, by several clients; statuses for sends whose wamid is not recorded
yet; a burst of 20,000 distinct POSTs from 16 clients (measured alone: p50 17 ms, p99 48 ms,
the client's own time included; held here to a 1 s bound). Every POST is acknowledged,
nothing is counted twice, nothing is lost: every recipient ends read, the counters and the
per-minute timeline equal a recount. (Throughput and the 100 ms p99 target are `make
bench`'s: python -m bench webhooks.)"""

import hashlib
import hmac
import json
import random
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db.models import Sum
from django.utils import timezone

from campaigns.engine.store import Outcome, record_outcomes
from campaigns.models import Campaign, Recipient, TimelineMinute
from campaigns.tracking.counters import counts_from_recipients, stored_counts
from webhooks.models import WebhookEvent
from webhooks.services.drain import webhook_events_drain

from ..factories import CampaignFactory
from .processes import WebServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent.parent
PATH = "/webhooks/whatsapp/"
RECORDED, NOT_YET = 150, 50  # recipients whose wamid is recorded / still being sent
COPIES = 10  # each status delivered this many times
CLIENTS = 8


@pytest.fixture
def receiver():
    server = WebServer()
    try:
        server.wait_ready()
        yield f"{server.url}{PATH}"
    finally:
        server.stop()


def body_for(account, status: dict) -> tuple[bytes, str]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": "15550001111",
            "phone_number_id": account.phone_number_id,
        },
        "statuses": [status],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": account.waba_id, "changes": [{"field": "messages", "value": value}]}],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, "sha256=" + hmac.new(account.app_secret.encode(), body, hashlib.sha256).hexdigest()


def delivered_and_read(account, n: int, *, wamid: str, phone: str) -> list[tuple[bytes, str]]:
    """The signed delivered and read POSTs of recipients 0…n-1 (`{wamid}.{i}`, +{phone}i)."""
    base = int(time.time()) - 60
    return [
        body_for(
            account,
            {
                "id": f"{wamid}.{i}",
                "status": state,
                "timestamp": str(base + step),
                "recipient_id": f"{phone}{i:07d}",
            },
        )
        for i in range(n)
        for step, state in ((1, "delivered"), (2, "read"))
    ]


def post(url, body, signature) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status


def test_duplicated_concurrent_and_early_statuses_count_once(receiver, workspace_a):
    url = receiver
    campaign = CampaignFactory(template__account__workspace=workspace_a, status="running")
    account = campaign.account
    n = RECORDED + NOT_YET
    now = timezone.now()
    Recipient.objects.bulk_create(
        [
            Recipient(
                campaign=campaign,
                phone=f"+1555{i:07d}",
                **(
                    {"status": "sent", "wamid": f"wamid.storm.{i}", "sent_at": now}
                    if i < RECORDED
                    else {"status": "sending", "claimed_by": "w", "claimed_at": now}
                ),
            )
            for i in range(n)
        ]
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        total_recipients=n, sent_count=RECORDED, sending_count=NOT_YET
    )
    bodies = delivered_and_read(account, n, wamid="wamid.storm", phone="1555")
    storm = [b for b in bodies for _ in range(COPIES)]
    random.Random(7).shuffle(storm)

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(lambda b: post(url, *b), storm))
    assert answers.count(200) == len(storm)

    # Meanwhile the engine records the wamids of the sends still in flight.
    rows = Recipient.objects.filter(campaign=campaign, status="sending").values_list("id", "phone")
    outcomes = [Outcome(pk, "sent", wamid=f"wamid.storm.{int(phone[-7:])}") for pk, phone in rows]
    record_outcomes(campaign_id=campaign.pk, outcomes=outcomes, worker="w")
    while webhook_events_drain(max_seconds=10).events:
        pass

    assert WebhookEvent.objects.count() >= len(bodies)  # every distinct POST stored
    assert not WebhookEvent.objects.exclude(status=WebhookEvent.Status.PROCESSED).exists()
    ended = Counter(Recipient.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert ended == {"read": n}, ended
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert (campaign.read_count, campaign.delivered_count, campaign.sent_count) == (n, 0, 0)
    timeline = TimelineMinute.objects.filter(campaign=campaign).aggregate(
        delivered=Sum("delivered"), read=Sum("read")
    )
    assert timeline == {"delivered": n, "read": n}


BURST_RECIPIENTS = 10_000  # × delivered and read: 20,000 POSTs
BURST_CLIENTS = 16
BURST_P99_BOUND_S = 1.0  # the 100 ms target is `make bench`'s (webhooks); here, a bound


def test_a_burst_of_20000_posts_is_acknowledged_and_counted_once(receiver, workspace_a):
    """20,000 distinct status POSTs at once from 16 clients: every one acknowledged, every
    recipient ends read, nothing counted twice. The POSTs' p99 is reported; CI holds it to a
    bound ten times the benchmark's target, which a lost lock or a per-POST query would break."""
    url = receiver
    campaign = CampaignFactory(template__account__workspace=workspace_a, status="running")
    account = campaign.account
    n = BURST_RECIPIENTS
    now = timezone.now()
    Recipient.objects.bulk_create(
        [
            Recipient(
                campaign=campaign,
                phone=f"+1556{i:07d}",
                status="sent",
                wamid=f"wamid.burst.{i}",
                sent_at=now,
            )
            for i in range(n)
        ],
        batch_size=5000,
    )
    Campaign.objects.filter(pk=campaign.pk).update(total_recipients=n, sent_count=n)
    burst = delivered_and_read(account, n, wamid="wamid.burst", phone="1556")
    random.Random(11).shuffle(burst)

    def timed(body_and_signature) -> tuple[int, float]:
        started = time.perf_counter()
        status = post(url, *body_and_signature)
        return status, time.perf_counter() - started

    with ThreadPoolExecutor(BURST_CLIENTS) as pool:
        answers = list(pool.map(timed, burst))
    assert [s for s, _ in answers].count(200) == len(burst)
    latencies = sorted(t for _, t in answers)
    p99 = latencies[int(len(latencies) * 0.99)]
    p50 = latencies[len(latencies) // 2]
    assert p99 < BURST_P99_BOUND_S, f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"

    while webhook_events_drain(max_seconds=10).events:
        pass
    assert not WebhookEvent.objects.exclude(status=WebhookEvent.Status.PROCESSED).exists()
    ended = Counter(Recipient.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert ended == {"read": n}, ended
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert (campaign.read_count, campaign.delivered_count, campaign.sent_count) == (n, 0, 0)
    timeline = TimelineMinute.objects.filter(campaign=campaign).aggregate(
        delivered=Sum("delivered"), read=Sum("read")
    )
    assert timeline == {"delivered": n, "read": n}
