"""Status webhooks: one precedence, any order, duplicates, batching, counters = recount."""

import itertools
import logging

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import OptOut, PendingStatus, Recipient
from campaigns.tracking import campaign_recount, fold, pending_statuses_apply
from campaigns.tracking.statuses import statuses_apply
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_drain
from webhooks.tasks import pending_statuses_retry_task
from whatsapp.webhook_payload import read_status

from ..factories import CampaignFactory, RecipientFactory, WhatsAppAccountFactory
from . import payloads as p
from .conftest import assert_counters_match, at

pytestmark = pytest.mark.django_db

OFFSETS = {"sent": 0, "failed": 10, "delivered": 5, "read": 60}
PRECEDENCE = ["sent", "failed", "delivered", "read"]


def deliver(post, account, *items):
    assert post(p.statuses(account, *items), account=account).status_code == 200
    return webhook_events_drain()


def test_sent_delivered_read_walk_the_recipient_up(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A", sent_at=at(p.T0 + 1))

    deliver(post, account, p.status("wamid.A", "sent", ts=p.T0))
    deliver(post, account, p.status("wamid.A", "delivered", ts=p.T0 + 5))
    deliver(post, account, p.status("wamid.A", "read", ts=p.T0 + 60))

    r.refresh_from_db()
    assert r.status == "read"
    assert (r.sent_at, r.delivered_at, r.read_at) == (at(p.T0), at(p.T0 + 5), at(p.T0 + 60))
    assert r.pricing_category == "marketing"
    counts = assert_counters_match(r.campaign_id)
    assert counts["read_count"] == 1
    assert counts["sent_count"] == 0
    event = WebhookEvent.objects.order_by("id").first()
    assert (event.status, event.statuses_count, event.messages_count) == ("processed", 1, 0)


def test_every_entry_change_and_status_of_one_post_is_applied(post, account, campaign):
    # given three recipients on two numbers of one workspace, and one POST naming them all
    sibling = WhatsAppAccountFactory(
        workspace=account.workspace, waba_id=account.waba_id, app_secret=account.app_secret
    )
    other_campaign = CampaignFactory(template__account=sibling, status="running")
    r1 = RecipientFactory(campaign=campaign, status="sent", wamid="wamid.1")
    r2 = RecipientFactory(campaign=campaign, status="sent", wamid="wamid.2")
    r3 = RecipientFactory(campaign=other_campaign, status="sent", wamid="wamid.3")
    for c in (campaign, other_campaign):
        campaign_recount(campaign_id=c.pk)
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": account.waba_id,
                "changes": [
                    p.change(account, {"statuses": [p.status("wamid.1", "delivered")]}),
                    p.change(
                        account,
                        {
                            "statuses": [
                                p.status("wamid.2", "read", ts=p.T0 + 9),
                                p.status("wamid.1", "read", ts=p.T0 + 20),
                            ]
                        },
                    ),
                ],
            },
            {
                "id": sibling.waba_id,
                "changes": [p.change(sibling, {"statuses": [p.status("wamid.3", "failed")]})],
            },
        ],
    }

    assert post(payload, account=account).status_code == 200
    webhook_events_drain()

    assert [Recipient.objects.get(pk=r.pk).status for r in (r1, r2, r3)] == [
        "read",
        "read",
        "failed",
    ]
    assert WebhookEvent.objects.get().statuses_count == 4
    assert_counters_match(campaign.pk)
    assert_counters_match(other_campaign.pk)


def test_the_same_post_twice_changes_nothing_the_second_time(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A")
    payload = p.statuses(account, p.status("wamid.A", "delivered"), p.status("wamid.A", "read"))
    post(payload, account=account)
    webhook_events_drain()
    before = Recipient.objects.filter(pk=r.pk).values().get()
    counts = assert_counters_match(r.campaign_id)

    post(payload, account=account)
    result = webhook_events_drain()

    assert result.statuses.changed == 0
    assert Recipient.objects.filter(pk=r.pk).values().get() == before
    assert assert_counters_match(r.campaign_id) == counts


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["sent", "delivered", "read", "failed"]))
)
def test_every_order_of_a_messages_statuses_ends_the_same(post, account, make_recipient, order):
    r = make_recipient(status="sent", wamid="wamid.A")
    for state in order:  # one POST per status, each drained on its own
        deliver(post, account, p.status("wamid.A", state, ts=p.T0 + OFFSETS[state]))

    r.refresh_from_db()
    assert r.status == "read"
    assert r.delivered_at == at(p.T0 + 5)
    assert r.read_at == at(p.T0 + 60)
    assert r.failed_at is None
    assert r.error_code is None
    assert r.error_title == ""
    assert_counters_match(r.campaign_id)


# --- Property: any permutation, duplication and batching gives the same final state ---------

TRACKED = ("status", "wamid", "sent_at", "delivered_at", "read_at", "failed_at", "error_code")
TRACKED += ("error_title", "error_details", "error_retryable", "next_attempt_at")
TRACKED += ("pricing_category", "pricing_billable", "pricing_type", "pricing_model")
TRACKED += ("message_status",)


@st.composite
def deliveries(draw):
    kinds = draw(st.lists(st.sampled_from(list(OFFSETS)), min_size=1, max_size=4, unique=True))
    copies = [k for k in kinds for _ in range(draw(st.integers(1, 3)))]
    order = draw(st.permutations(copies))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(order)), max_size=3))))
    return kinds, order, cuts


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=deliveries(), initial=st.sampled_from(["sending", "sent", "unknown"]))
def test_any_permutation_and_duplication_of_statuses_gives_one_final_state(
    account, campaign, case, initial
):
    kinds, order, cuts = case
    # Each example runs in a savepoint rolled back at its end: hypothesis reuses the fixtures.
    with transaction.atomic():
        recorded = initial == "sent"  # else the first status finds it by callback data
        r = RecipientFactory(
            campaign=campaign,
            status=initial,
            wamid="wamid.P" if recorded else None,
            sent_at=at(p.T0 + 2) if recorded else None,
        )
        campaign_recount(campaign_id=campaign.pk)
        start = dict(Recipient.objects.filter(pk=r.pk).values(*TRACKED).get())

        def item(state):
            raw = p.status("wamid.P", state, ts=p.T0 + OFFSETS[state], recipient=r)
            status = read_status(raw, at(p.T0))
            status.account_id = account.id
            return status

        bounds = [0, *cuts, len(order)]
        for lo, hi in itertools.pairwise(bounds):
            statuses_apply([item(s) for s in order[lo:hi]])

        final = Recipient.objects.filter(pk=r.pk).values(*TRACKED).get()
        expected, _ = fold({**start, "wamid": "wamid.P"}, [item(s) for s in sorted(kinds)])
        assert final == expected
        best = max(kinds, key=PRECEDENCE.index)
        assert final["status"] == best
        assert (final["error_code"] is not None) == (best == "failed")
        assert (final["read_at"] is not None) == ("read" in kinds)
        assert (final["delivered_at"] is not None) == bool({"delivered", "read"} & set(kinds))
        assert_counters_match(campaign.pk)
        transaction.set_rollback(True)


# --- Statuses before the send result --------------------------------------------------------


def test_status_for_a_recipient_still_sending_is_matched_by_callback_data(
    post, account, make_recipient
):
    r = make_recipient(status="sending", wamid=None)

    deliver(post, account, p.status("wamid.NEW", "delivered", ts=p.T0 + 5, recipient=r))

    r.refresh_from_db()
    assert (r.status, r.wamid) == ("delivered", "wamid.NEW")
    assert r.sent_at == at(p.T0 + 5)
    assert r.delivered_at == at(p.T0 + 5)
    counts = assert_counters_match(r.campaign_id)
    assert counts["sending_count"] == 0
    assert counts["delivered_count"] == 1
    assert not PendingStatus.objects.exists()


def test_unknown_recipient_is_resolved_by_a_status(post, account, make_recipient):
    r = make_recipient(status="unknown", wamid=None)
    deliver(post, account, p.status("wamid.LOST", "sent", recipient=r))
    r.refresh_from_db()
    assert (r.status, r.wamid) == ("sent", "wamid.LOST")
    assert assert_counters_match(r.campaign_id)["unknown_count"] == 0


def test_status_with_neither_wamid_nor_callback_waits_until_the_wamid_is_recorded(
    post, account, make_recipient
):
    r = make_recipient(status="sending", wamid=None)

    deliver(
        post,
        account,
        p.status("wamid.LATE", "sent", ts=p.T0),
        p.status("wamid.LATE", "delivered", ts=p.T0 + 5),
    )

    kept = PendingStatus.objects.order_by("id")
    assert [(k.wamid, k.status, k.account_id) for k in kept] == [
        ("wamid.LATE", "sent", account.id),
        ("wamid.LATE", "delivered", account.id),
    ]
    assert kept[0].timestamp == at(p.T0)
    assert kept[0].payload["id"] == "wamid.LATE"
    assert Recipient.objects.get(pk=r.pk).status == "sending"

    # when the engine records the wamid and hands it over
    Recipient.objects.filter(pk=r.pk).update(status="sent", wamid="wamid.LATE")
    campaign_recount(campaign_id=r.campaign_id)
    assert pending_statuses_apply(wamids=["wamid.LATE", "wamid.OTHER"]) == 2

    r.refresh_from_db()
    assert (r.status, r.delivered_at) == ("delivered", at(p.T0 + 5))
    assert not PendingStatus.objects.exists()
    assert_counters_match(r.campaign_id)


def test_beat_applies_kept_statuses_whose_wamid_appeared(post, account, make_recipient):
    r = make_recipient(status="sending", wamid=None)
    deliver(post, account, p.status("wamid.LATE", "read", ts=p.T0 + 60))
    deliver(post, account, p.status("wamid.NEVER", "read"))
    Recipient.objects.filter(pk=r.pk).update(status="sent", wamid="wamid.LATE")
    campaign_recount(campaign_id=r.campaign_id)

    assert pending_statuses_retry_task() == {"applied": 1}

    assert Recipient.objects.get(pk=r.pk).status == "read"
    assert list(PendingStatus.objects.values_list("wamid", flat=True)) == ["wamid.NEVER"]
    assert_counters_match(r.campaign_id)


def test_pending_status_is_applied_when_a_later_status_records_the_wamid(
    post, account, make_recipient
):
    r = make_recipient(status="sending", wamid=None)
    deliver(post, account, p.status("wamid.X", "read", ts=p.T0 + 60))  # no callback data
    deliver(post, account, p.status("wamid.X", "sent", recipient=r))  # with callback data

    r.refresh_from_db()
    assert (r.status, r.wamid, r.read_at) == ("read", "wamid.X", at(p.T0 + 60))
    assert not PendingStatus.objects.exists()


# --- Precedence details ---------------------------------------------------------------------


def test_failed_after_read_is_ignored_and_logged(post, account, make_recipient, caplog):
    r = make_recipient(status="sent", wamid="wamid.A")
    deliver(post, account, p.status("wamid.A", "read", ts=p.T0 + 60))

    with caplog.at_level(logging.INFO, logger="campaigns.tracking.statuses"):
        result = deliver(post, account, p.status("wamid.A", "failed", ts=p.T0 + 70))

    r.refresh_from_db()
    assert r.status == "read"
    assert r.error_code is None
    assert r.failed_at is None
    assert result.statuses.changed == 0
    assert any("failed status ignored" in rec.message for rec in caplog.records)


def test_delivered_after_failed_wins_and_clears_the_failure(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A")
    deliver(post, account, p.status("wamid.A", "failed", ts=p.T0 + 10))
    assert Recipient.objects.get(pk=r.pk).status == "failed"

    deliver(post, account, p.status("wamid.A", "delivered", ts=p.T0 + 5))

    r.refresh_from_db()
    assert (r.status, r.failed_at, r.error_code, r.error_title) == ("delivered", None, None, "")
    assert_counters_match(r.campaign_id)


def test_sent_after_failed_does_not_downgrade(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A")
    deliver(post, account, p.status("wamid.A", "failed", ts=p.T0 + 10))
    deliver(post, account, p.status("wamid.A", "sent", ts=p.T0))
    r.refresh_from_db()
    assert r.status == "failed"
    assert r.sent_at == at(p.T0)


@pytest.mark.parametrize(
    ("code", "retryable"), [(131049, True), (131026, True), (131050, False), (131021, False)]
)
def test_failed_keeps_metas_code_title_details_and_whether_retry_can_help(
    post, account, make_recipient, code, retryable
):
    r = make_recipient(status="sent", wamid="wamid.F")

    deliver(post, account, p.status("wamid.F", "failed", ts=p.T0 + 10, error_code=code))

    r.refresh_from_db()
    assert r.status == "failed"
    assert r.failed_at == at(p.T0 + 10)
    assert r.error_code == code
    assert r.error_title.startswith("This message was not delivered")
    assert r.error_details == "In order to maintain a healthy ecosystem engagement"
    assert r.error_retryable is retryable
    assert assert_counters_match(r.campaign_id)["failed_count"] == 1


def test_a_131049_failure_keeps_its_earliest_retry_and_retry_failed_waits_for_it(
    post, account, make_recipient, owner
):
    from datetime import timedelta

    from campaigns.engine.claims import claim_batch
    from campaigns.models import Campaign
    from campaigns.services.reruns import campaign_retry_failed

    r = make_recipient(status="sent", wamid="wamid.F")
    deliver(post, account, p.status("wamid.F", "failed", ts=p.T0 + 10, error_code=131049))
    r.refresh_from_db()
    assert r.next_attempt_at == at(p.T0 + 10) + timedelta(days=1)  # Meta: not before 24 h
    Campaign.objects.filter(pk=r.campaign_id).update(status="paused")

    assert campaign_retry_failed(user=owner, campaign=r.campaign) == 1
    r.refresh_from_db()
    assert r.status == "pending"
    assert r.next_attempt_at == at(p.T0 + 10) + timedelta(days=1)
    # due only once the day has passed (T0 is in the past here, so it is due now)
    Recipient.objects.filter(pk=r.pk).update(next_attempt_at=at(p.T0) + timedelta(days=3650))
    assert claim_batch(campaign_id=r.campaign_id, worker="w", size=10) == []
    assert_counters_match(r.campaign_id)


def test_a_delivery_after_a_deferral_clears_the_retry_time(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.F")
    deliver(post, account, p.status("wamid.F", "failed", ts=p.T0 + 10, error_code=131049))
    deliver(post, account, p.status("wamid.F", "delivered", ts=p.T0 + 20))
    r.refresh_from_db()
    assert (r.status, r.next_attempt_at, r.error_code) == ("delivered", None, None)


def test_failed_131050_puts_the_number_on_the_opt_out_list(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.F")
    deliver(post, account, p.status("wamid.F", "failed", error_code=131050))
    optout = OptOut.objects.get(workspace=account.workspace, phone=r.phone)
    assert optout.source == OptOut.Source.ERROR


def test_earliest_timestamp_wins_and_read_implies_delivered(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A")
    deliver(post, account, p.status("wamid.A", "read", ts=p.T0 + 60))
    r.refresh_from_db()
    assert r.delivered_at == at(p.T0 + 60)  # read implies delivered

    deliver(post, account, p.status("wamid.A", "delivered", ts=p.T0 + 5))
    deliver(post, account, p.status("wamid.A", "delivered", ts=p.T0 + 30))
    r.refresh_from_db()
    assert (r.status, r.delivered_at, r.read_at) == ("read", at(p.T0 + 5), at(p.T0 + 60))


def test_first_pricing_category_wins(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A")
    deliver(post, account, p.status("wamid.A", "read"))  # no pricing on read
    deliver(post, account, p.status("wamid.A", "sent", category="utility"))
    deliver(post, account, p.status("wamid.A", "delivered", category="marketing"))
    assert Recipient.objects.get(pk=r.pk).pricing_category == "utility"


def test_status_from_another_account_is_ignored(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A")
    intruder = WhatsAppAccountFactory()
    deliver(post, intruder, p.status("wamid.A", "read"))
    deliver(post, intruder, p.status("wamid.B", "read", recipient=r))
    assert Recipient.objects.get(pk=r.pk).status == "sent"
    # callback data naming another account's recipient is not usable: the status is kept
    assert list(PendingStatus.objects.values_list("wamid", flat=True)) == ["wamid.B"]


def test_status_of_an_older_send_of_the_recipient_is_ignored(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.SECOND")
    deliver(post, account, p.status("wamid.FIRST", "failed", recipient=r))
    r.refresh_from_db()
    assert (r.status, r.wamid) == ("sent", "wamid.SECOND")
    assert not PendingStatus.objects.exists()


def test_unusable_items_are_skipped_not_fatal(post, account, make_recipient):
    r = make_recipient(status="sent", wamid="wamid.A")
    deliver(
        post,
        account,
        "not a status",
        {"id": "wamid.A", "status": "played", "timestamp": "1"},
        {"status": "read"},
        p.status("wamid.A", "read", ts=p.T0 + 60),
        {**p.status("wamid.A", "delivered"), "timestamp": "not-a-time"},
    )
    r.refresh_from_db()
    assert r.status == "read"
    assert WebhookEvent.objects.get().status == "processed"


def test_metas_quality_signals_on_status_webhooks_are_counted_for_the_breaker(
    post, account, make_recipient, django_capture_on_commit_callbacks
):
    from campaigns.engine.breaker import quality_key
    from config.redis import get_redis

    capped = [make_recipient(status="sent", wamid=f"wamid.Q{i}") for i in range(3)]
    other = make_recipient(status="sent", wamid="wamid.U")
    key = quality_key(other.campaign_id)
    get_redis().delete(key)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(
            post,
            account,
            *[p.status(r.wamid, "failed", ts=p.T0 + 10, error_code=131049) for r in capped],
            p.status("wamid.U", "failed", ts=p.T0 + 10, error_code=131026),  # not a signal
        )
    assert get_redis().hgetall(key) == {b"131049": b"3"}
    with django_capture_on_commit_callbacks(execute=True):  # a duplicate changes nothing
        deliver(post, account, p.status(capped[0].wamid, "failed", ts=p.T0 + 10))
    assert get_redis().hgetall(key) == {b"131049": b"3"}
    get_redis().delete(key)
