"""The engine's claim: a batch of due pending recipients marked as sending for one sender,
in one transaction with the counters, skipping at that moment those that must never be sent
(opted out since the import, over the workspace's frequency cap, a limited-time offer that
has ended). The rest of the engine's database work is in `store`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from ..audiences.cap import SKIP_REASON as CAPPED
from ..audiences.cap import Cap, cap_lock, capped_condition
from ..models import Campaign, OptOut, Recipient
from ..tracking.counters import counters_apply
from .batch_update import TABLE

# When a row's limited-time offer ends, in Unix ms (PayloadBuilder.offer_ms); None: never.
OfferExpiry = Callable[[dict], int | None]


@dataclass(slots=True)
class Claimed:
    id: int
    phone: str
    values: dict
    attempts: int


def _uuid(value):
    return value if connection.vendor == "postgresql" else value.hex


def _nullable_uuid(value):
    return None if value is None else _uuid(value)


def claim_batch(
    *,
    campaign_id,
    worker: str,
    size: int,
    number_id=None,
    offer_expiry: OfferExpiry | None = None,
    cap: Cap | None = None,
) -> list[Claimed]:
    """Mark up to `size` due pending recipients as sending for `worker`, from the number
    `number_id` (None: the campaign's own account), in id order.

    `offer_expiry(values)`: when a row's limited-time offer ends (Unix ms; None: no end);
    rows past it are skipped (`offer_expired`) in the same transaction, never sent. `cap`:
    the frequency cap on the template's category (audiences/cap.py; None: no statement).

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent claimers never wait for or take the same
    rows. SQLite: its single writer serialises claimers (IMMEDIATE transactions).
    """
    now = timezone.now()
    lock = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as c:
        if cap is not None:
            cap_lock(c, cap)  # two capped campaigns' claims of one number: one after the other
        c.execute(
            f"""UPDATE {TABLE} SET status = 'sending', claimed_at = %s, claimed_by = %s,
                    attempts = attempts + 1, number_id = %s
                WHERE id IN (
                    SELECT id FROM {TABLE}
                    WHERE campaign_id = %s AND status = 'pending'
                      AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                    ORDER BY id LIMIT %s {lock})
                RETURNING id, phone, "values", attempts""",
            [now, worker, _nullable_uuid(number_id), _uuid(campaign_id), now, size],
        )
        rows = c.fetchall()
        if rows:
            counters_apply(
                campaign_id=campaign_id,
                deltas={Recipient.Status.PENDING: -len(rows), Recipient.Status.SENDING: len(rows)},
            )
            rows = _skip_opted_out(c, campaign_id=campaign_id, rows=rows)
            if cap is not None and rows:
                condition, params = capped_condition(cap)
                rows = _skip(
                    c,
                    campaign_id=campaign_id,
                    rows=rows,
                    reason=CAPPED,
                    condition=condition,
                    params=params,
                )
            if offer_expiry is not None and rows:
                rows = _skip_expired_offers(
                    c, campaign_id=campaign_id, rows=rows, expiry=offer_expiry
                )
    decode = Recipient._meta.get_field("values").from_db_value
    claimed = [
        # JSONField reads `expression` only to spot a key transform: None is the plain column.
        Claimed(
            id=r[0],
            phone=r[1],
            values=decode(r[2], None, connection) or {},  # type: ignore[arg-type]
            attempts=r[3],
        )
        for r in rows
    ]
    claimed.sort(key=lambda c: c.id)
    return claimed


def _skip(
    c, *, campaign_id, rows: list[tuple], reason: str, ids=None, condition="", params=()
) -> list[tuple]:
    """Mark claimed rows (all of `rows`, or those of `ids`) that meet `condition` as skipped
    for `reason`, their attempt not counted, the counters moved: one statement. Returns the
    rows left to send. Every skip at the claim (opted out, an ended offer, the frequency cap)
    is this statement with its own condition."""
    ids = [r[0] for r in rows] if ids is None else ids
    if not ids:
        return rows
    c.execute(
        f"""UPDATE {TABLE} SET status = 'skipped', skip_reason = %s,
                claimed_at = NULL, claimed_by = '', attempts = attempts - 1
            WHERE id IN ({", ".join(["%s"] * len(ids))}) AND status = 'sending' {condition}
            RETURNING id""",
        [reason, *ids, *params],
    )
    skipped = {r[0] for r in c.fetchall()}
    if not skipped:
        return rows
    counters_apply(
        campaign_id=campaign_id,
        deltas={Recipient.Status.SENDING: -len(skipped), Recipient.Status.SKIPPED: len(skipped)},
    )
    return [r for r in rows if r[0] not in skipped]


def _skip_opted_out(c, *, campaign_id, rows: list[tuple]) -> list[tuple]:
    """Numbers that opted out after the import (STOP, user_preferences, an operator) are
    skipped at send time (`opted_out`), on the opt-out list's (workspace, phone) index."""
    return _skip(
        c,
        campaign_id=campaign_id,
        rows=rows,
        reason="opted_out",
        condition=f"""AND phone IN (
                SELECT o.phone FROM {OptOut._meta.db_table} o
                JOIN {Campaign._meta.db_table} k ON k.workspace_id = o.workspace_id
                WHERE k.id = %s)""",
        params=[_uuid(campaign_id)],
    )


def _skip_expired_offers(c, *, campaign_id, rows: list[tuple], expiry: OfferExpiry) -> list[tuple]:
    decode = Recipient._meta.get_field("values").from_db_value
    now_ms = time.time() * 1000
    expired = []
    for r in rows:
        ends = expiry(decode(r[2], None, connection) or {})  # type: ignore[arg-type]
        if ends is not None and ends <= now_ms:
            expired.append(r[0])
    return _skip(c, campaign_id=campaign_id, rows=rows, reason="offer_expired", ids=expired)
