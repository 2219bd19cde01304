"""Status webhooks applied to recipients: one precedence, order-independent, in batches.

Precedence (docs/architecture.md §6, docs/whatsapp.md §5.7): pending / sending / unknown /
skipped = 0 < sent = 1 < failed = 2 < delivered = 3 < read = 4. A recipient's status is the
highest rank seen and never goes down, so duplicates change nothing and any arrival order ends
in the same state. `failed` counts only while nothing better has arrived: a failure after a
delivery is logged and ignored (multi-device), and a delivery after a failure clears the
failure. Each step keeps the earliest timestamp seen for it, and a status proves the steps
before it (read implies delivered implies sent), so timestamps do not depend on order either.

Work is per batch: statuses grouped by wamid, the recipients loaded (and locked) in one query,
the new states computed in Python, changed rows written with one statement and the
campaign counters adjusted in the same transaction. A status whose send is not recorded yet
(no recipient by wamid, no usable callback data) is kept as a PendingStatus and applied by
`pending_statuses_apply` once the engine records the wamid.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from config.sql import (
    column,
    delete_in_batches,
    execute,
    in_array,
    is_postgres,
    update_from_arrays,
)
from whatsapp.errors import OPT_OUT_CODES, QUALITY_CODES
from whatsapp.webhook_payload import StatusItem, clean_json, read_status

from ..engine.breaker import quality_record
from ..models import Campaign, OptOut, PendingStatus, Recipient
from ..models_numbers import sent_from
from .counters import counters_apply, transition_deltas
from .timeline import add_moves, timeline_apply

logger = logging.getLogger(__name__)

RANK = {"sent": 1, "failed": 2, "delivered": 3, "read": 4}  # every other status ranks 0
FAILED_RANK = RANK["failed"]
# The step timestamps a status proves.
STEPS = {
    "sent": ("sent_at",),
    "delivered": ("sent_at", "delivered_at"),
    "read": ("sent_at", "delivered_at", "read_at"),
}
FAILURE_FIELDS = (
    "failed_at",
    "error_code",
    "error_title",
    "error_details",
    "error_retryable",
    "next_attempt_at",  # the earliest retry (retry-failed waits for it)
)
NO_FAILURE = dict.fromkeys(FAILURE_FIELDS) | {"error_title": "", "error_details": ""}
TRACKED = (
    "status",
    "wamid",
    "sent_at",
    "delivered_at",
    "read_at",
    *FAILURE_FIELDS,
    "pricing_category",
    "pricing_billable",
    "pricing_type",
    "pricing_model",
    "message_status",
)
# The send's message_status under Meta's template pacing (§11.3): held until Meta delivers or
# drops it (132015). Any status webhook for the message ends the hold.
HELD = "held_for_quality_assessment"
LOADED = ("id", "campaign_id", "number_id", "phone", *TRACKED)
LOADED_COLUMNS = [column(Recipient, name) for name in LOADED]
# Meta 131050: the user stopped marketing messages (docs/whatsapp.md §4, §7): keep them out.
STOPPED_DETAIL = "Meta error {code} on a status webhook: the user stopped marketing messages."
CHUNK = 1000  # distinct wamids per query; keeps IN lists within SQLite's parameter limit
_NEVER = 10**12  # sorts a failure without a code after those with one


@dataclass
class ApplyResult:
    statuses: int = 0
    applied: int = 0  # matched to a recipient (changed or not)
    changed: int = 0  # recipients written
    pending: int = 0  # kept for later
    ignored: int = 0  # another account's recipient, or an older send of the recipient
    unmatched: list[StatusItem] = field(default_factory=list)

    def add(self, other: ApplyResult) -> None:
        self.statuses += other.statuses
        self.applied += other.applied
        self.changed += other.changed
        self.pending += other.pending
        self.ignored += other.ignored
        self.unmatched.extend(other.unmatched)


class CounterDeltas:
    """Counter and timeline changes per campaign, applied together at the end of the
    caller's transaction: the campaign row is everybody's hot spot, so its lock is held
    briefly (and taken before the timeline's minutes, in every writer)."""

    def __init__(self):
        self.by_campaign: dict[object, Counter] = defaultdict(Counter)
        self.timeline: Counter = Counter()
        # Recipients whose first click was recorded (campaigns.tracking.clicks).
        self.clicked: Counter = Counter()

    def add(self, campaign_id, transitions) -> None:
        self.by_campaign[campaign_id].update(transition_deltas(transitions))

    def apply(self) -> None:
        for campaign_id in sorted(self.by_campaign.keys() | self.clicked.keys(), key=str):
            moved: Counter = self.by_campaign.get(campaign_id, Counter())
            deltas = {state: n for state, n in moved.items() if n}
            clicked = self.clicked.get(campaign_id, 0)
            counters_apply(campaign_id=campaign_id, deltas=deltas, clicked=clicked)
        self.by_campaign.clear()
        self.clicked.clear()
        timeline_apply(self.timeline)


def rank(status: str) -> int:
    return RANK.get(status, 0)


def fold(row: dict, items: list[StatusItem]) -> tuple[dict, list[StatusItem]]:
    """The tracked fields of `row` after `items` (pure), and the failures ignored because
    the message was delivered or read."""
    new = {name: row[name] for name in TRACKED}
    best_rank = rank(new["status"])
    failure: StatusItem | None = None
    # A canonical order, so that "the first pricing category" is the same for any arrival
    # order within a batch.
    for item in sorted(items, key=lambda i: (i.timestamp, rank(i.status), i.wamid)):
        item_rank = RANK[item.status]
        if item.status == "failed":
            if failure is None or _failure_key(item) < _failure_key(failure):
                failure = item
        else:
            for step in STEPS[item.status]:
                current = new[step]
                if current is None or item.timestamp < current:
                    new[step] = item.timestamp
        if item_rank > best_rank:
            new["status"], best_rank = item.status, item_rank
        if item.category and not new["pricing_category"]:
            new["pricing_category"] = item.category
            new["pricing_billable"], new["pricing_type"] = item.billable, item.pricing_type
            new["pricing_model"] = item.pricing_model
    if new["message_status"] == HELD and items:
        new["message_status"] = "released"
    ignored = []
    if best_rank > FAILED_RANK:
        # A delivered or read message carries no failure, whichever arrived first.
        ignored = [i for i in items if i.status == "failed"]
        new.update(NO_FAILURE)
    elif new["status"] == "failed" and failure is not None:
        stored = (new["failed_at"], new["error_code"]) if row["status"] == "failed" else None
        if stored is None or stored[0] is None or _failure_key(failure) < _stored_key(*stored):
            f = failure.failure
            assert f is not None  # a "failed" item always carries its failure
            new.update(
                failed_at=failure.timestamp,
                error_code=f.code,
                error_title=f.title,
                error_details=f.details,
                error_retryable=f.retryable,
                next_attempt_at=(
                    failure.timestamp + timedelta(seconds=f.retry_after) if f.retry_after else None
                ),
            )
    return new, ignored


def _failure_key(item: StatusItem) -> tuple[datetime, int]:
    code = item.failure.code if item.failure else None
    return item.timestamp, _NEVER if code is None else code


def _stored_key(failed_at: datetime, code: int | None) -> tuple[datetime, int]:
    return failed_at, _NEVER if code is None else code


def statuses_apply(
    items: list[StatusItem], *, keep_unmatched: bool = True, counters: CounterDeltas | None = None
) -> ApplyResult:
    """Apply status items (each with `account_id` set). Call inside a transaction; the
    campaign counters change in it too: at once, or through `counters` when the caller
    applies them itself before committing."""
    groups: dict[str, list[StatusItem]] = defaultdict(list)
    for item in items:
        groups[item.wamid].append(item)
    wamids = sorted(groups)
    result = ApplyResult()
    deltas = counters if counters is not None else CounterDeltas()
    recorded: list[str] = []
    for start in range(0, len(wamids), CHUNK):
        chunk = {w: groups[w] for w in wamids[start : start + CHUNK]}
        result.add(_apply_chunk(chunk, keep_unmatched, deltas, recorded))
    if counters is None:
        deltas.apply()
    if recorded:  # matched by callback data: statuses kept for these wamids apply now
        pending_statuses_apply(wamids=recorded)
    return result


def _lock_recipients(wamids: list[str], ids: list[int]) -> list[dict]:
    """The recipients with these wamids or ids, locked in id order (the engine and other
    drains write the same rows)."""
    if is_postgres():
        # Two index scans (BitmapOr); an IN (subquery) on either side would scan the table.
        qn = connection.ops.quote_name
        sql = (
            f"SELECT {', '.join(qn(c) for c in LOADED_COLUMNS)} "
            f"FROM {qn(Recipient._meta.db_table)} "
            "WHERE (wamid = ANY(%b::varchar[]) AND wamid IS NOT NULL) OR id = ANY(%b::bigint[]) "
            "ORDER BY id FOR UPDATE"
        )
        return [dict(zip(LOADED, row, strict=True)) for row in execute(sql, [wamids, ids])]
    query = Q(wamid__in=wamids, wamid__isnull=False) | Q(id__in=ids)
    recipients = Recipient.objects.filter(query).order_by("id")
    if connection.features.has_select_for_update:
        recipients = recipients.select_for_update()
    return list(recipients.values(*LOADED))


def _apply_chunk(
    groups: dict[str, list[StatusItem]], keep_unmatched: bool, deltas, recorded: list[str]
) -> ApplyResult:
    result = ApplyResult(statuses=sum(len(g) for g in groups.values()))
    callback_ids = {i.recipient_id for g in groups.values() for i in g if i.recipient_id}
    rows = _lock_recipients(list(groups), sorted(callback_ids))
    by_wamid = {r["wamid"]: r for r in rows if r["wamid"]}
    by_id = {r["id"]: r for r in rows}
    campaigns = {
        c[0]: c[1:]
        for c in Campaign.objects.filter(id__in={r["campaign_id"] for r in rows}).values_list(
            "id", "account_id", "workspace_id"
        )
    }

    targets: dict[int, tuple[dict, str, list[StatusItem]]] = {}
    for wamid, group in groups.items():
        row = by_wamid.get(wamid)
        if row is None:
            recipient_id = next((i.recipient_id for i in group if i.recipient_id), None)
            row = by_id.get(recipient_id) if recipient_id else None
            if row is None or not _same_account(row, group[0], campaigns):
                result.unmatched.extend(group)
                continue
            known = targets[row["id"]][1] if row["id"] in targets else row["wamid"]
            if known and known != wamid:
                # An older (or other) send of this recipient: its wamid is not the one stored.
                logger.info(
                    "status for another send of the recipient ignored",
                    extra={"wamid": wamid, "recipient_id": row["id"], "stored_wamid": known},
                )
                result.ignored += len(group)
                continue
            if not known:
                recorded.append(wamid)  # matched by callback data: the wamid is recorded now
        matching = [i for i in group if _same_account(row, i, campaigns)]
        result.ignored += len(group) - len(matching)
        if len(matching) < len(group):
            logger.warning(
                "status from another account ignored",
                extra={"wamid": wamid, "recipient_id": row["id"]},
            )
        if matching:
            entry = targets.setdefault(row["id"], (row, wamid, []))
            entry[2].extend(matching)
            result.applied += len(matching)

    changed, transitions, stopped = [], defaultdict(list), []
    quality: Counter[tuple[str, int]] = Counter()
    for row, wamid, row_items in targets.values():
        base = {**row, "wamid": row["wamid"] or wamid}
        new, ignored = fold(base, row_items)
        for item in ignored:
            logger.info(
                "failed status ignored: the message was delivered",
                extra={
                    "wamid": item.wamid,
                    "recipient_id": row["id"],
                    "error_code": item.failure.code if item.failure else None,
                },
            )
        if any(new[name] != row[name] for name in TRACKED):
            changed.append((row["id"], new))
            add_moves(deltas.timeline, row["campaign_id"], row, new)
        if new["status"] != row["status"]:
            transitions[row["campaign_id"]].append((row["status"], new["status"]))
            if new["status"] == "failed" and new["error_code"] in OPT_OUT_CODES:
                stopped.append((campaigns[row["campaign_id"]][1], row["phone"], new["error_code"]))
            if new["status"] == "failed" and new["error_code"] in QUALITY_CODES:
                quality[(str(row["campaign_id"]), new["error_code"])] += 1

    _write(changed)
    if quality:  # the senders' breakers read them (campaigns/engine/breaker.py)
        transaction.on_commit(partial(quality_record, dict(quality)))
    for campaign_id, pairs in transitions.items():
        deltas.add(campaign_id, pairs)
    if stopped:
        OptOut.objects.bulk_create(
            [
                OptOut(
                    workspace_id=ws,
                    phone=phone,
                    source=OptOut.Source.ERROR,
                    detail=STOPPED_DETAIL.format(code=code),
                )
                for ws, phone, code in stopped
            ],
            ignore_conflicts=True,
        )
    result.changed = len(changed)
    if keep_unmatched and result.unmatched:
        result.pending = _keep(result.unmatched)
    return result


def _same_account(row: dict, item: StatusItem, campaigns: dict) -> bool:
    """Did the webhook come for the number that sent this recipient (its own, recorded at the
    claim; a row from before numbers were recorded: its campaign's account)?"""
    campaign = campaigns.get(row["campaign_id"])
    if campaign is None:
        return False
    return (row["number_id"] or campaign[0]) == item.account_id


def _keep(items: list[StatusItem]) -> int:
    rows = [
        PendingStatus(
            account_id=i.account_id,
            wamid=i.wamid,
            status=i.status,
            timestamp=i.timestamp,
            payload=clean_json(i.raw),  # jsonb refuses NUL and unpaired surrogates
            event_id=i.event_id,
        )
        for i in items
        if i.account_id is not None and i.pending_id is None
    ]
    PendingStatus.objects.bulk_create(rows, batch_size=500)
    return len(rows)


_TYPES = {
    "status": "varchar",
    "wamid": "varchar",
    "sent_at": "timestamptz",
    "delivered_at": "timestamptz",
    "read_at": "timestamptz",
    "failed_at": "timestamptz",
    "error_code": "integer",
    "error_title": "varchar",
    "error_details": "text",
    "error_retryable": "boolean",
    "next_attempt_at": "timestamptz",
    "pricing_category": "varchar",
    "pricing_billable": "boolean",
    "pricing_type": "varchar",
    "pricing_model": "varchar",
    "message_status": "varchar",
}


def _write(changed: list[tuple[int, dict]]) -> None:
    if not changed:
        return
    if is_postgres():
        rows = [(rid, *(values[c] for c in TRACKED)) for rid, values in changed]
        update_from_arrays(Recipient, {c: _TYPES[c] for c in TRACKED}, rows)
    else:
        Recipient.objects.bulk_update(
            [Recipient(id=rid, **values) for rid, values in changed], TRACKED, batch_size=200
        )


def pending_statuses_apply(*, wamids) -> int:
    """Apply the kept statuses of these wamids, now that the engine has recorded them.

    The sending engine calls this after the transaction that records a batch's wamids
    commits; beat calls it for the rest. Idempotent, and cheap when nothing is pending (one
    indexed query per 1,000 wamids). Returns how many kept statuses were applied.
    """
    wamids = sorted({w for w in wamids if w})
    applied = 0
    for start in range(0, len(wamids), CHUNK):
        with transaction.atomic():
            chunk = wamids[start : start + CHUNK]
            pending = PendingStatus.objects.filter(wamid__in=in_array(chunk, "varchar"))
            if connection.features.has_select_for_update_skip_locked:
                # Another caller applying the same rows will do it; no need to wait.
                pending = pending.select_for_update(skip_locked=True)
            items = []
            for row in pending.order_by("id"):
                item = read_status(row.payload, row.timestamp)
                if item is None:
                    continue
                item.account_id, item.event_id, item.pending_id = (
                    row.account_id,
                    row.event_id,
                    row.id,
                )
                items.append(item)
            if not items:
                continue
            result = statuses_apply(items, keep_unmatched=False)
            still = {i.pending_id for i in result.unmatched}
            done = [i.pending_id for i in items if i.pending_id not in still]
            PendingStatus.objects.filter(id__in=done).delete()
            applied += len(done)
    if applied:
        logger.info("pending statuses applied", extra={"count": applied})
    return applied


def pending_statuses_retry(*, batch_size: int = CHUNK) -> int:
    """Beat's safety net: apply every kept status whose wamid has been recorded since (the
    engine's call can miss one that a concurrent drain had not committed yet)."""
    recorded = Recipient.objects.filter(sent_from(OuterRef("account_id")), wamid=OuterRef("wamid"))
    last_id, applied = 0, 0
    while True:
        rows = list(
            PendingStatus.objects.filter(Exists(recorded), id__gt=last_id)
            .order_by("id")
            .values_list("id", "wamid")[:batch_size]
        )
        if not rows:
            return applied
        last_id = rows[-1][0]
        applied += pending_statuses_apply(wamids=[wamid for _, wamid in rows])


def pending_statuses_prune(*, older_than: timedelta | None = None, batch_size: int = 5000) -> int:
    """Delete kept statuses that never matched a send within the retention age (statuses of
    messages sent by other tools on the same number end up here)."""
    age = older_than or timedelta(days=settings.WEBHOOK_PENDING_STATUS_RETENTION_DAYS)
    old = PendingStatus.objects.filter(received_at__lt=timezone.now() - age)
    deleted = delete_in_batches(old, batch_size)
    if deleted:
        logger.warning("unmatched pending statuses pruned", extra={"count": deleted})
    return deleted
