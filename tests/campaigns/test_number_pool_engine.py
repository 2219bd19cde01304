"""A campaign sending from several numbers, against the sandbox process on the real database
and Redis: recipients spread across the numbers, each number paced by its own throughput,
the campaign's rate over all of them, and an error on one number named and flagged."""

import threading
import time

import pytest

from campaigns.engine.runner import sender_finished
from campaigns.engine.sender import run_sender
from campaigns.models import Campaign, CampaignNumber, Recipient
from campaigns.tracking.counters import counts_from_recipients, stored_counts
from whatsapp.models import WhatsAppAccount

from ..factories import CampaignFactory, WhatsAppAccountFactory
from ..templates_app import meta_shapes
from .conftest import make_template
from .test_engine import VALUES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pooled(workspace_a, settings):
    """A running campaign on its template's number and one more of the same WABA."""
    settings.ENGINE_SENDERS_PER_CAMPAIGN = 1

    def make(n, *, rate, own=80, other=80, **other_fields):
        template = make_template(workspace_a, meta_shapes.DELIVERY_WINDOW)
        WhatsAppAccount.objects.filter(pk=template.account_id).update(throughput=own)
        second = WhatsAppAccountFactory(
            workspace=workspace_a,
            waba_id=template.account.waba_id,
            throughput=other,
            **other_fields,
        )
        campaign = CampaignFactory(template=template, status="running", rate_limit=rate)
        CampaignNumber.objects.create(campaign=campaign, account=second)
        phones = [f"+1415555{i:04d}" for i in range(n)]
        Recipient.objects.bulk_create(
            [Recipient(campaign=campaign, phone=p, values=VALUES) for p in phones]
        )
        Campaign.objects.filter(pk=campaign.pk).update(total_recipients=n, pending_count=n)
        campaign.refresh_from_db()
        return campaign, template.account, second

    return make


def run_all(campaign, senders=(0, 1)):
    """Every sender of the campaign at once, each in its own thread (as workers would)."""
    results, errors = {}, []

    def one(n):
        from django.db import connection

        try:
            results[n] = run_sender(
                campaign_id=campaign.pk, worker=f"w{n}", budget_seconds=30, sender_no=n
            )
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(n,)) for n in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_recipients_spread_across_the_numbers_each_paced_by_its_own(sandbox, pooled):
    # given a slow number (20 msg/s) and a faster one (80), and a campaign rate above both
    # (each claims about two seconds of its own sends at a time: 40 and 160 rows)
    campaign, own, second = pooled(250, rate=200, own=20, other=80)

    results = run_all(campaign)

    assert {r.reason for r in results.values()} == {"drained"}
    stats = sandbox.stats()
    assert stats["accepted_total"] == 250
    assert stats["duplicate_sends"] == 0
    by_number = stats["accepted_by_phone_number_id"]
    # each recipient records the number that sent it, and the sandbox saw the same split
    recorded = {
        n: Recipient.objects.filter(campaign=campaign, number=a).count()
        for n, a in ((own.phone_number_id, own), (second.phone_number_id, second))
    }
    assert recorded == by_number
    assert Recipient.objects.filter(campaign=campaign, status="sent").count() == 250
    # the faster number took most of them; neither went over its own throughput
    assert by_number[second.phone_number_id] > 2 * by_number[own.phone_number_id] > 0
    peak = stats["peak_one_second_by_phone_number_id"]
    assert peak[own.phone_number_id] <= 21
    assert peak[second.phone_number_id] <= 81
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)


def test_the_campaigns_rate_holds_across_its_numbers(sandbox, pooled):
    # two numbers of 80 msg/s each, and a campaign limited to 20 over both
    campaign, own, second = pooled(60, rate=20)

    started = time.monotonic()
    run_all(campaign)
    elapsed = time.monotonic() - started

    stats = sandbox.stats(timeline="1")
    assert stats["accepted_total"] == 60
    assert all(stats["accepted_by_phone_number_id"].get(a.phone_number_id) for a in (own, second))
    # 60 sends at 20 a second over both numbers: three seconds at least, and no clock second
    # at the sandbox with more than the campaign's rate (one slot of jitter allowed)
    assert elapsed >= 2.8
    assert max(stats["accepted_by_second"].values()) <= 21


def test_a_sender_whose_number_left_the_pool_sends_nothing(sandbox, pooled):
    campaign, _own, _second = pooled(5, rate=80)
    CampaignNumber.objects.filter(campaign=campaign).delete()
    result = run_sender(campaign_id=campaign.pk, worker="w1", budget_seconds=5, sender_no=1)
    assert result.reason == "retired"
    assert sandbox.stats()["accepted_total"] == 0


def test_an_error_on_one_number_pauses_naming_it_and_flags_only_that_number(pooled, settings):
    from ..sandbox import Sandbox

    strict = Sandbox("--no-webhooks", "--mps", "1000", "--token", "the-right-token")
    try:
        settings.WHATSAPP_GRAPH_URL = strict.url
        campaign, own, second = pooled(20, rate=80, access_token="an-expired-token")
        WhatsAppAccount.objects.filter(pk=own.pk).update(access_token="the-right-token")
        result = run_sender(campaign_id=campaign.pk, worker="w1", budget_seconds=30, sender_no=1)
        assert result.reason == "paused"
        sender_finished(campaign_id=campaign.pk, sender_no=1, result=result)
    finally:
        strict.close()
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert "190" in campaign.status_reason
    assert f"sending from {second}" in campaign.status_reason
    second.refresh_from_db()
    own.refresh_from_db()
    assert (second.state, own.state) == ("needs_attention", "active")
    assert Recipient.objects.filter(campaign=campaign, status="pending").count() == 20


def test_the_sweep_restarts_only_the_senders_that_died(pooled, settings, monkeypatch):
    from campaigns.engine import control
    from campaigns.engine.runner import sweep
    from campaigns.tasks import campaign_sender

    settings.ENGINE_SENDERS_PER_CAMPAIGN = 2  # 4 sender numbers: 0, 1 (own); 2, 3 (second)
    campaign, _own, _second = pooled(10, rate=80)
    enqueued = []
    monkeypatch.setattr(campaign_sender, "apply_async", lambda args, **kw: enqueued.append(args))
    cid = campaign.pk
    try:
        # senders 0 and 2 are alive, 1 is on its way, 3 died with its worker
        assert control.slot_take(cid, 0, "alive-0")
        assert control.slot_take(cid, 2, "alive-2")
        control.mark_queued(cid, 1)

        assert sweep()["restarted"] == 1
        assert enqueued == [(str(cid), 3)]
        assert sweep()["restarted"] == 0  # 3 is on its way now: not enqueued twice
        assert enqueued == [(str(cid), 3)]

        # the restarted sender 3 starts (its marker cleared) and dies at once: again
        control.clear_queued(cid, 3)
        sweep()
        assert enqueued == [(str(cid), 3), (str(cid), 3)]
    finally:
        control.slot_release(cid, 0, "alive-0")
        control.slot_release(cid, 2, "alive-2")
        for n in range(4):
            control.clear_queued(cid, n)


def test_a_small_campaign_is_shared_by_a_sender_that_starts_later(sandbox, pooled):
    """The first sender to start claims its share (the campaign's pending over its senders),
    not two seconds of its rate: one starting half a second later still gets recipients."""
    campaign, own, second = pooled(100, rate=160)
    results = {}

    def one(n):
        from django.db import connection

        try:
            results[n] = run_sender(
                campaign_id=campaign.pk, worker=f"w{n}", budget_seconds=30, sender_no=n
            )
        finally:
            connection.close()

    early = threading.Thread(target=one, args=(1,))  # the second number's sender
    early.start()
    time.sleep(0.5)
    one(0)  # the campaign's own number's, late
    early.join()
    by_number = sandbox.stats()["accepted_by_phone_number_id"]
    assert by_number.get(own.phone_number_id, 0) >= 20
    assert by_number[own.phone_number_id] + by_number[second.phone_number_id] == 100
    assert {r.reason for r in results.values()} == {"drained"}
