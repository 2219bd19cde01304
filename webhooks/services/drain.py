"""Processing stored webhook events: the drain, reprocessing and retention.

The drain claims unprocessed events in batches (`SELECT … FOR UPDATE SKIP LOCKED` on
PostgreSQL, so any number of workers can drain together), walks every entry, change, status
and message (`dispatch.py`), applies all the batch's statuses at once (`campaigns.tracking`),
then the rarer inbound messages, preferences, template updates and account errors, marks
each event processed with its counts and, last (the campaign row is every drain's hot spot),
adjusts the campaign counters, all in one transaction. Pending events are claimed in id order
after the last one this run claimed, so the dead row versions a queue table collects are not
rescanned. If the batch fails, its events are retried one by one so that one bad event
cannot hold the others back; a failing event is retried with backoff and given up after
WEBHOOK_MAX_ATTEMPTS (it stays `failed`, visible in the admin).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from campaigns.tracking import ApplyResult, CounterDeltas
from config.redis import get_redis
from config.sql import delete_in_batches, is_postgres, update_from_arrays
from whatsapp import webhook_payload as payload

from ..models import WebhookEvent
from .directory import get_directory
from .dispatch import Parsed, apply, parse

logger = logging.getLogger(__name__)

DRAIN_FLAG = "webhooks:drain-queued"
RETRY_BASE_SECONDS = 60
DRAIN_DEBOUNCE_SECONDS = 1.0


_last_asked = 0.0  # when this process last asked Redis (monotonic seconds)


def drain_soon() -> None:
    """Queue a drain, at most about once a second however many POSTs arrive (a Redis flag
    shared by all processes); beat drains every few seconds anyway, so a Redis or broker
    hiccup loses nothing."""
    global _last_asked
    from ..tasks import webhook_events_drain_task

    now = time.monotonic()
    if now - _last_asked < DRAIN_DEBOUNCE_SECONDS:
        return  # asked less than a second ago: spare every POST a Redis round trip
    _last_asked = now
    try:
        if get_redis().set(DRAIN_FLAG, b"1", nx=True, ex=1):
            webhook_events_drain_task.apply_async(expires=30)
    except Exception:  # the event is stored; beat will drain it
        logger.warning("could not queue a webhook drain", exc_info=True)


@dataclass
class DrainResult:
    batches: int = 0
    events: int = 0
    processed: int = 0
    failed: int = 0
    rejected: int = 0
    statuses: ApplyResult = field(default_factory=ApplyResult)
    replied: int = 0
    seconds: float = 0.0
    last_id: int = 0  # the highest pending event claimed so far


def webhook_events_drain(*, batch_size: int | None = None, max_seconds: float = 30.0):
    """Process unprocessed events until none are left (or `max_seconds` have passed)."""
    batch_size = batch_size or settings.WEBHOOK_DRAIN_BATCH_SIZE
    started = time.monotonic()
    result = DrainResult()
    while time.monotonic() - started < max_seconds:
        if not _drain_batch(batch_size, result):
            break
        result.batches += 1
    result.seconds = time.monotonic() - started
    if result.events:
        logger.info(
            "webhook events drained",
            extra={
                "events": result.events,
                "processed": result.processed,
                "failed": result.failed,
                "rejected": result.rejected,
                "statuses": result.statuses.statuses,
                "statuses_pending": result.statuses.pending,
                "seconds": round(result.seconds, 3),
            },
        )
    return result


@dataclass(slots=True)
class Claimed:
    """The columns of a claimed event the drain needs (model instances cost more)."""

    id: int
    account_id: object
    body: bytes
    received_at: object
    attempts: int


def _claim(batch_size: int, after_id: int) -> tuple[list[Claimed], int]:
    """The next events to process: pending ones in id order, after `after_id` (the last one
    this drain claimed: the index range then skips the versions it left behind, which a
    queue table accumulates until vacuum), then failed ones whose retry is due (few)."""
    fields = ("id", "account_id", "body", "received_at", "attempts")
    skip_locked = connection.features.has_select_for_update_skip_locked
    pending = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.PENDING, id__gt=after_id
    ).order_by("id")
    if skip_locked:
        pending = pending.select_for_update(skip_locked=True)
    claimed = [Claimed(*row) for row in pending.values_list(*fields)[:batch_size]]
    last_pending = claimed[-1].id if claimed else after_id
    if len(claimed) < batch_size:
        retry = (
            WebhookEvent.objects.filter(
                status=WebhookEvent.Status.FAILED, attempts__lt=settings.WEBHOOK_MAX_ATTEMPTS
            )
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
            .order_by("id")
        )
        if skip_locked:
            retry = retry.select_for_update(skip_locked=True)
        limit = batch_size - len(claimed)
        claimed += [Claimed(*row) for row in retry.values_list(*fields)[:limit]]
    return claimed, last_pending


def _drain_batch(batch_size: int, result: DrainResult) -> int:
    with transaction.atomic():
        events, result.last_id = _claim(batch_size, result.last_id)
        if not events:
            return 0
        result.events += len(events)
        directory = get_directory()
        parsed: list[Parsed] = []
        for event in events:
            try:
                parsed.append(parse(event, directory))
            except payload.MalformedPayload as exc:
                _mark_rejected(event, str(exc))
                result.rejected += 1
            except Exception as exc:
                _mark_failed(event, exc)
                result.failed += 1
        counters = CounterDeltas()  # applied last, so the campaign rows stay locked briefly
        try:
            with transaction.atomic():
                applied = apply(parsed, counters)
            result.statuses.add(applied[0])
            result.replied += applied[1]
        except Exception:
            counters = CounterDeltas()
            logger.warning("webhook batch failed; retrying its events one by one", exc_info=True)
            ok = []
            for item in parsed:
                try:
                    with transaction.atomic():
                        applied = apply([item], None)
                    result.statuses.add(applied[0])
                    result.replied += applied[1]
                    ok.append(item)
                except Exception as exc:
                    _mark_failed(item.event, exc)
                    result.failed += 1
            parsed = ok
        _mark_processed(parsed)
        counters.apply()
        result.processed += len(parsed)
        return len(events)


def _mark_processed(parsed: list[Parsed]) -> None:
    if not parsed:
        return
    now = timezone.now()
    done = {
        "status": WebhookEvent.Status.PROCESSED,
        "processed_at": now,
        "error": "",
        "next_attempt_at": None,
    }
    if is_postgres():
        rows = [(p.event.id, len(p.statuses), p.messages_count) for p in parsed]
        counts = {"statuses_count": "integer", "messages_count": "integer"}
        update_from_arrays(WebhookEvent, counts, rows, constants=done)
        return
    by_counts: dict[tuple[int, int], list[int]] = defaultdict(list)
    for item in parsed:
        by_counts[(len(item.statuses), item.messages_count)].append(item.event.id)
    for (statuses, messages), ids in by_counts.items():
        WebhookEvent.objects.filter(id__in=ids).update(
            **done, statuses_count=statuses, messages_count=messages
        )


def _mark_rejected(event: Claimed, reason: str) -> None:
    logger.warning("webhook event rejected", extra={"event_id": event.id, "reason": reason})
    WebhookEvent.objects.filter(id=event.id).update(
        status=WebhookEvent.Status.REJECTED, error=reason[:2000], processed_at=timezone.now()
    )


def _mark_failed(event: Claimed, exc: Exception) -> None:
    attempts = event.attempts + 1
    gave_up = attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    log = logger.error if gave_up else logger.warning
    log(
        "webhook event failed" + ("; giving up" if gave_up else ""),
        extra={"event_id": event.id, "attempts": attempts},
        exc_info=exc,
    )
    delay = timedelta(seconds=RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    WebhookEvent.objects.filter(id=event.id).update(
        status=WebhookEvent.Status.FAILED,
        attempts=F("attempts") + 1,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        next_attempt_at=timezone.now() + delay,
    )


def webhook_events_reprocess(*, event_ids) -> int:
    """Queue events for processing again (admin action); processing is idempotent."""
    count = WebhookEvent.objects.filter(id__in=list(event_ids)).update(
        status=WebhookEvent.Status.PENDING,
        attempts=0,
        error="",
        next_attempt_at=None,
        processed_at=None,
    )
    if count:
        transaction.on_commit(drain_soon)
    return count


def webhook_events_prune(*, older_than: timedelta | None = None, batch_size: int = 5000) -> int:
    """Delete processed events, and rejected ones (never processed: kept for inspection),
    older than WEBHOOK_RETENTION_DAYS, a batch at a time. Events still to process, or that
    failed, stay."""
    age = older_than or timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    cutoff = timezone.now() - age
    old = WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED, processed_at__lt=cutoff)
    deleted = delete_in_batches(old, batch_size)
    rejected = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.REJECTED, received_at__lt=cutoff
    )
    deleted += delete_in_batches(rejected, batch_size)
    if deleted:
        logger.info("processed webhook events pruned", extra={"count": deleted})
    return deleted
