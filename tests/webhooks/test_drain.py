"""The drain: batches, isolation of bad events, retries, retention, tasks, SKIP LOCKED."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from campaigns.models import PendingStatus, Recipient
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_drain
from webhooks.tasks import webhook_events_drain_task, webhooks_prune_task

from ..locks import rows_locked_elsewhere
from . import payloads as p
from .conftest import assert_counters_match

pytestmark = pytest.mark.django_db


def stored(account, payload=None, *, body=None, **fields) -> WebhookEvent:
    body = body if body is not None else p.dumps(payload)
    return WebhookEvent.objects.create(
        account=account, body=body, body_sha256=hashlib.sha256(body).hexdigest(), **fields
    )


def test_drain_task_processes_every_batch(account, make_recipient):
    recipients = [make_recipient(status="sent", wamid=f"wamid.{i}") for i in range(7)]
    for r in recipients:
        stored(account, p.statuses(account, p.status(r.wamid, "delivered")))

    with override_settings(WEBHOOK_DRAIN_BATCH_SIZE=3):
        summary = webhook_events_drain_task()

    assert summary == {"events": 7, "processed": 7, "failed": 0, "statuses": 7}
    assert set(Recipient.objects.values_list("status", flat=True)) == {"delivered"}
    assert not WebhookEvent.objects.exclude(status=WebhookEvent.Status.PROCESSED).exists()
    assert_counters_match(recipients[0].campaign_id)


def test_a_failing_event_does_not_hold_back_its_batch(account, make_recipient, monkeypatch):
    good = make_recipient(status="sent", wamid="wamid.GOOD")
    first = stored(account, p.statuses(account, p.status("wamid.GOOD", "read")))
    poison = stored(account, p.text(account, "+447700900123", "hi"))
    last = stored(account, p.statuses(account, p.status("wamid.GOOD", "delivered")))

    def boom(**kwargs):
        raise RuntimeError("replies are broken")

    monkeypatch.setattr("webhooks.services.dispatch.inbound_messages_apply", boom)
    result = webhook_events_drain()

    assert (result.processed, result.failed) == (2, 1)
    assert Recipient.objects.get(pk=good.pk).status == "read"
    events = WebhookEvent.objects.in_bulk([first.pk, poison.pk, last.pk])
    assert events[first.pk].status == events[last.pk].status == WebhookEvent.Status.PROCESSED
    bad = events[poison.pk]
    assert (bad.status, bad.attempts) == (WebhookEvent.Status.FAILED, 1)
    assert "RuntimeError: replies are broken" in bad.error
    assert bad.next_attempt_at > timezone.now()
    assert_counters_match(good.campaign_id)

    # not retried before its backoff is over …
    assert webhook_events_drain().events == 0
    # … then retried, and processed once the cause is gone
    WebhookEvent.objects.filter(pk=poison.pk).update(next_attempt_at=timezone.now())
    monkeypatch.undo()
    assert webhook_events_drain().processed == 1
    assert WebhookEvent.objects.get(pk=poison.pk).status == WebhookEvent.Status.PROCESSED


@override_settings(WEBHOOK_MAX_ATTEMPTS=3)
def test_an_event_that_keeps_failing_is_given_up_and_stays_failed(account, monkeypatch):
    event = stored(account, p.text(account, "+447700900123", "hi"))

    def boom(**kwargs):
        raise RuntimeError("still broken")

    monkeypatch.setattr("webhooks.services.dispatch.inbound_messages_apply", boom)
    for _ in range(5):
        webhook_events_drain()
        WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())

    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.Status.FAILED, 3)


def test_an_unreadable_stored_event_is_rejected_not_retried(account):
    event = stored(account, body=b"\x00garbage")
    result = webhook_events_drain()
    event.refresh_from_db()
    assert result.rejected == 1
    assert event.status == WebhookEvent.Status.REJECTED
    assert "not JSON" in event.error


def test_an_event_whose_account_was_deleted_is_processed_without_effect(account):
    event = stored(None, p.statuses(account, p.status("wamid.X", "read")))
    account_id = account.pk
    webhook_events_drain()
    assert WebhookEvent.objects.get(pk=event.pk).status == WebhookEvent.Status.PROCESSED
    assert PendingStatus.objects.get().account_id == account_id


def test_drain_returns_nothing_to_do_quickly():
    result = webhook_events_drain()
    assert (result.events, result.batches) == (0, 0)


# --- Retention ------------------------------------------------------------------------------


@override_settings(WEBHOOK_RETENTION_DAYS=30, WEBHOOK_PENDING_STATUS_RETENTION_DAYS=60)
def test_prune_deletes_old_processed_events_and_old_pending_statuses(account):
    now = timezone.now()
    old = stored(
        account,
        {"x": 1},
        status=WebhookEvent.Status.PROCESSED,
        processed_at=now - timedelta(days=31),
    )
    recent = stored(
        account,
        {"x": 2},
        status=WebhookEvent.Status.PROCESSED,
        processed_at=now - timedelta(days=29),
    )
    failed = stored(account, {"x": 3}, status=WebhookEvent.Status.FAILED, attempts=5)
    WebhookEvent.objects.filter(pk=failed.pk).update(received_at=now - timedelta(days=90))
    rejected = stored(
        account, body=b"{not json", status=WebhookEvent.Status.REJECTED, error="not JSON"
    )
    WebhookEvent.objects.filter(pk=rejected.pk).update(received_at=now - timedelta(days=31))
    young = stored(
        account, body=b"{not json", status=WebhookEvent.Status.REJECTED, error="not JSON"
    )
    keep = PendingStatus.objects.create(
        account=account, wamid="wamid.K", status="sent", timestamp=now, payload={}
    )
    gone = PendingStatus.objects.create(
        account=account, wamid="wamid.G", status="sent", timestamp=now, payload={}
    )
    PendingStatus.objects.filter(pk=gone.pk).update(received_at=now - timedelta(days=61))

    assert webhooks_prune_task() == {"events": 2, "pending_statuses": 1}

    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {
        recent.pk,
        failed.pk,
        young.pk,
    }
    assert not WebhookEvent.objects.filter(pk=old.pk).exists()
    assert list(PendingStatus.objects.values_list("pk", flat=True)) == [keep.pk]


def test_prune_works_in_batches(account):
    from webhooks.services import webhook_events_prune

    long_ago = timezone.now() - timedelta(days=365)
    for i in range(5):
        stored(account, {"i": i}, status=WebhookEvent.Status.PROCESSED, processed_at=long_ago)
    assert webhook_events_prune(batch_size=2) == 5
    assert not WebhookEvent.objects.exists()


# --- Concurrency (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_drain_skips_events_locked_by_another_drain(account, make_recipient):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is a PostgreSQL feature; SQLite serialises writers instead")
    make_recipient(status="sent", wamid="wamid.A")
    make_recipient(status="sent", wamid="wamid.B")
    busy = stored(account, p.statuses(account, p.status("wamid.A", "read")))
    free = stored(account, p.statuses(account, p.status("wamid.B", "read")))
    with rows_locked_elsewhere(WebhookEvent.objects.filter(pk=busy.pk)):
        result = webhook_events_drain()
        assert result.events == 1
        assert WebhookEvent.objects.get(pk=free.pk).status == WebhookEvent.Status.PROCESSED
        assert WebhookEvent.objects.get(pk=busy.pk).status == WebhookEvent.Status.PENDING
    assert webhook_events_drain().events == 1
    assert set(Recipient.objects.values_list("status", flat=True)) == {"read"}


# --- Hostile values inside a well-formed payload ----------------------------------------------


def test_values_postgresql_cannot_store_do_not_cost_the_rest_of_the_post(account, make_recipient):
    """NUL characters, unpaired surrogates, out-of-range codes and callback ids, and absurd
    timestamps are cleaned or ignored item by item: every status of the POST still applies."""
    good = make_recipient(status="sent", wamid="wamid.GOOD")
    failed = make_recipient(status="sent", wamid="wamid.BAD")
    odd = p.status("wamid.BAD", "failed", ts=0)
    odd["errors"][0]["code"] = 3_000_000_000
    odd["errors"][0]["title"] = "bad\u0000title"
    odd["errors"][0]["error_data"]["details"] = "lone \ud800 surrogate and \u0000 NUL"
    unmatched = p.status("wamid.NOBODY\u0000", "sent", callback_data="bc1:9999999999999999999")
    unmatched["extra"] = {"k\u0000": ["\ud800"]}
    digits = p.status("wamid.NOBODY2", "read", callback_data="bc1:\u00b2")
    body = p.statuses(account, p.status("wamid.GOOD", "read"), odd, unmatched, digits)
    body["entry"][0]["changes"][0]["value"]["errors"] = [
        {"code": 1e400, "title": "x\u0000", "error_data": {"details": "\u0000"}}
    ]
    event = stored(account, body=json.dumps(body).encode())  # ASCII: \ud800 escaped

    result = webhook_events_drain()

    assert (result.processed, result.failed) == (1, 0)
    assert WebhookEvent.objects.get(pk=event.pk).status == WebhookEvent.Status.PROCESSED
    assert Recipient.objects.get(pk=good.pk).status == "read"
    bad = Recipient.objects.get(pk=failed.pk)
    assert bad.status == "failed"
    assert bad.error_code is None  # 3,000,000,000 is no Meta code
    assert "\u0000" not in bad.error_title + bad.error_details
    assert bad.error_details == "lone \ufffd surrogate and \ufffd NUL"
    # a timestamp of 0 is not 1970: the event's arrival stands in for it
    assert bad.failed_at.year >= 2018
    kept = PendingStatus.objects.order_by("wamid")
    assert [k.wamid for k in kept] == ["wamid.NOBODY2", "wamid.NOBODY\ufffd"]
    assert_counters_match(good.campaign_id)
