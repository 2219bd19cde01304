"""The engine's database work: claim batches, record outcomes, release and recover claims.

Every function is a few set-based statements per batch — never per message — and adjusts
the campaign counters in the same transaction as the recipients.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import Recipient
from ..services.counters import counters_apply

logger = logging.getLogger(__name__)

R = Recipient.Status
TABLE = Recipient._meta.db_table


@dataclass(slots=True)
class Claimed:
    id: int
    phone: str
    values: dict
    attempts: int


@dataclass(slots=True)
class Outcome:
    """What happened to one claimed recipient."""

    id: int
    status: str  # sent | failed | pending (retry / release) | unknown
    wamid: str | None = None
    message_status: str = ""
    error_code: int | None = None
    error_title: str = ""
    error_details: str = ""
    error_retryable: bool | None = None
    next_attempt_at: object = None
    released: bool = False  # never left: the claim is undone without counting an attempt


def _uuid(value):
    return value if connection.vendor == "postgresql" else value.hex


def claim_batch(*, campaign_id, worker: str, size: int) -> list[Claimed]:
    """Mark up to `size` due pending recipients as sending for `worker`, in id order.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent claimers never wait for or take the same
    rows. SQLite: its single writer serialises claimers (IMMEDIATE transactions).
    """
    now = timezone.now()
    lock = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as c:
        c.execute(
            f"""UPDATE {TABLE} SET status = 'sending', claimed_at = %s, claimed_by = %s,
                    attempts = attempts + 1
                WHERE id IN (
                    SELECT id FROM {TABLE}
                    WHERE campaign_id = %s AND status = 'pending'
                      AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                    ORDER BY id LIMIT %s {lock})
                RETURNING id, phone, "values", attempts""",
            [now, worker, _uuid(campaign_id), now, size],
        )
        rows = c.fetchall()
        if rows:
            counters_apply(
                campaign_id=campaign_id, deltas={R.PENDING: -len(rows), R.SENDING: len(rows)}
            )
    decode = Recipient._meta.get_field("values").from_db_value
    claimed = [
        Claimed(id=r[0], phone=r[1], values=decode(r[2], None, connection) or {}, attempts=r[3])
        for r in rows
    ]
    claimed.sort(key=lambda c: c.id)
    return claimed


def record_outcomes(*, campaign_id, outcomes: list[Outcome]) -> list[str]:
    """Write a batch of outcomes; returns the wamids recorded (for pending webhook statuses).

    Only rows still `sending` (or `unknown`, for a send recovered too early) change state: a
    status webhook that arrived first has already moved the row further, and is kept.
    """
    if not outcomes:
        return []
    now = timezone.now()
    deltas: dict[str, int] = {}

    def move(from_state: str, to_state: str, n: int):
        if n:
            deltas[from_state] = deltas.get(from_state, 0) - n
            deltas[to_state] = deltas.get(to_state, 0) + n

    sent = [o for o in outcomes if o.status == R.SENT]
    failed = [o for o in outcomes if o.status == R.FAILED]
    retry = [o for o in outcomes if o.status == R.PENDING and not o.released]
    released = [o for o in outcomes if o.released]
    unknown = [o for o in outcomes if o.status == R.UNKNOWN]
    with transaction.atomic(), connection.cursor() as c:
        if sent:
            for from_state in (R.SENDING, R.UNKNOWN):
                c.executemany(
                    f"""UPDATE {TABLE} SET status = 'sent', wamid = %s, message_status = %s,
                            sent_at = COALESCE(sent_at, %s), claimed_at = NULL
                        WHERE id = %s AND status = %s""",
                    [(o.wamid, o.message_status, now, o.id, from_state) for o in sent],
                )
                move(from_state, R.SENT, c.rowcount)
            # Rows a webhook already advanced still need their wamid.
            c.executemany(
                f"""UPDATE {TABLE} SET wamid = %s, message_status = %s, claimed_at = NULL
                    WHERE id = %s AND wamid IS NULL""",
                [(o.wamid, o.message_status, o.id) for o in sent],
            )
        if failed:
            c.executemany(
                f"""UPDATE {TABLE} SET status = 'failed', failed_at = %s, error_code = %s,
                        error_title = %s, error_details = %s, error_retryable = %s,
                        next_attempt_at = %s, claimed_at = NULL
                    WHERE id = %s AND status = 'sending'""",
                [
                    (
                        now,
                        o.error_code,
                        o.error_title[:255],
                        o.error_details,
                        o.error_retryable,
                        o.next_attempt_at,
                        o.id,
                    )
                    for o in failed
                ],
            )
            move(R.SENDING, R.FAILED, c.rowcount)
        if retry:
            c.executemany(
                f"""UPDATE {TABLE} SET status = 'pending', next_attempt_at = %s,
                        error_code = %s, error_title = %s, error_details = %s,
                        claimed_at = NULL
                    WHERE id = %s AND status = 'sending'""",
                [
                    (o.next_attempt_at, o.error_code, o.error_title[:255], o.error_details, o.id)
                    for o in retry
                ],
            )
            move(R.SENDING, R.PENDING, c.rowcount)
        if released:
            c.executemany(
                f"""UPDATE {TABLE} SET status = 'pending', attempts = attempts - 1,
                        claimed_at = NULL, next_attempt_at = %s
                    WHERE id = %s AND status = 'sending' AND attempts > 0""",
                [(o.next_attempt_at, o.id) for o in released],
            )
            move(R.SENDING, R.PENDING, c.rowcount)
        if unknown:
            c.executemany(
                f"""UPDATE {TABLE} SET status = 'unknown', error_title = %s,
                        error_details = %s, claimed_at = NULL
                    WHERE id = %s AND status = 'sending'""",
                [(o.error_title[:255], o.error_details, o.id) for o in unknown],
            )
            move(R.SENDING, R.UNKNOWN, c.rowcount)
        counters_apply(campaign_id=campaign_id, deltas=deltas)
    return [o.wamid for o in sent if o.wamid]


def lease_seconds() -> int:
    return settings.ENGINE_LEASE_SECONDS


def expired_claims(*, campaign_id=None, limit: int = 5000) -> list[tuple]:
    """(id, campaign_id, claimed_by) of rows in `sending` whose lease ran out."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds())
    qs = Recipient.objects.filter(status=R.SENDING, claimed_at__lt=cutoff)
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    return list(qs.values_list("id", "campaign_id", "claimed_by")[:limit])


def recover_claims(*, campaign_id, maybe_sent: set[int], never_sent: set[int]) -> None:
    """Expired claims: rows whose request may have left become `unknown` (never re-sent
    automatically); rows that never left go back to `pending`."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds())
    with transaction.atomic():
        unknown = Recipient.objects.filter(
            id__in=maybe_sent, status=R.SENDING, claimed_at__lt=cutoff
        ).update(
            status=R.UNKNOWN,
            claimed_at=None,
            error_title="Outcome unknown",
            error_details="The worker stopped after sending; the status webhook will tell.",
        )
        pending = Recipient.objects.filter(
            id__in=never_sent, status=R.SENDING, claimed_at__lt=cutoff
        ).update(status=R.PENDING, claimed_at=None)
        counters_apply(
            campaign_id=campaign_id,
            deltas={R.SENDING: -(unknown + pending), R.UNKNOWN: unknown, R.PENDING: pending},
        )
    if unknown or pending:
        logger.warning(
            "recovered expired claims",
            extra={"campaign_id": str(campaign_id), "unknown": unknown, "requeued": pending},
        )


def remaining(*, campaign_id) -> dict:
    """What is left to do: due pending, later pending (backoff), and in-flight rows."""
    now = timezone.now()
    base = Recipient.objects.filter(campaign_id=campaign_id)
    pending = base.filter(status=R.PENDING)
    return {
        "due": pending.filter(next_attempt_at__isnull=True).exists()
        or pending.filter(next_attempt_at__lte=now).exists(),
        "later": pending.filter(next_attempt_at__gt=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first(),
        "sending": base.filter(status=R.SENDING).exists(),
    }
