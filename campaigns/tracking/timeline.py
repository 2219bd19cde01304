"""A campaign's timeline: per UTC minute, how many of its recipients' sent, delivered, read,
failed and replied times fall in it (`TimelineMinute`).

Every write that sets, moves or clears one of those times adds its change here, in its own
transaction, as the counters do (`counters.py`); the stats then read a few hundred rows
instead of grouping a million recipients. `timeline_from_recipients` counts the same from
the recipients themselves: `campaign_recount` compares the two and repairs the stored one.
"""

from collections import Counter
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Count
from django.db.models.functions import Trunc

from ..models import Recipient, TimelineMinute

# Each column of the timeline and the recipient time it counts.
KINDS: dict[str, str] = {
    "sent": "sent_at",
    "delivered": "delivered_at",
    "read": "read_at",
    "failed": "failed_at",
    "replied": "replied_at",
}
FIELD_KINDS = {field: kind for kind, field in KINDS.items()}

# {(campaign_id, minute, kind): delta}
Deltas = Counter[tuple[object, datetime, str]]


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def add_moves(deltas: Deltas, campaign_id, old: dict, new: dict) -> None:
    """Add what changed between a recipient's times before (`old`) and after (`new`), both
    keyed by field name (sent_at, …); fields missing from either are ignored."""
    for field, kind in FIELD_KINDS.items():
        if field not in old or field not in new:
            continue
        before, after = old[field], new[field]
        if before == after:
            continue
        if before is not None:
            deltas[(campaign_id, minute_of(before), kind)] -= 1
        if after is not None:
            deltas[(campaign_id, minute_of(after), kind)] += 1


def add_events(deltas: Deltas, campaign_id, kind: str, moment: datetime, n: int = 1) -> None:
    if n:
        deltas[(campaign_id, minute_of(moment), kind)] += n


def timeline_apply(deltas: Deltas) -> None:
    """Add `deltas` to the stored minutes: one upsert for the lot, rows in (campaign, minute)
    order so that concurrent writers lock them in the same order. Call it inside the
    transaction that changed the recipients."""
    rows: dict[tuple, dict[str, int]] = {}
    for (campaign_id, minute, kind), n in deltas.items():
        if n:
            rows.setdefault((str(campaign_id), minute), dict.fromkeys(KINDS, 0))[kind] += n
    deltas.clear()
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(TimelineMinute._meta.db_table)
    kinds = list(KINDS)
    placeholders = ", ".join(["(%s, %s" + ", %s" * len(kinds) + ")"] * len(rows))
    params: list = []
    uuid_value = TimelineMinute._meta.get_field("campaign").target_field.get_db_prep_value
    for (campaign_id, minute), counts in sorted(rows.items()):
        params += [
            uuid_value(campaign_id, connection),
            connection.ops.adapt_datetimefield_value(minute),
            *(counts[k] for k in kinds),
        ]
    columns = ", ".join(qn(c) for c in ("campaign_id", "minute", *kinds))
    updates = ", ".join(f"{qn(k)} = {table}.{qn(k)} + EXCLUDED.{qn(k)}" for k in kinds)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {placeholders} "
            f"ON CONFLICT (campaign_id, minute) DO UPDATE SET {updates}",
            params,
        )


def timeline_from_recipients(*, campaign_id) -> dict[datetime, dict[str, int]]:
    """The timeline counted from the recipients: {minute: {kind: n}} (minutes with events)."""
    result: dict[datetime, dict[str, int]] = {}
    base = Recipient.objects.filter(campaign_id=campaign_id)
    for kind, field in KINDS.items():
        grouped = (
            base.filter(**{f"{field}__isnull": False})
            .annotate(minute=Trunc(field, "minute", tzinfo=UTC))
            .values("minute")
            .annotate(n=Count("id"))
            .values_list("minute", "n")
        )
        for minute, n in grouped:
            result.setdefault(minute, dict.fromkeys(KINDS, 0))[kind] = n
    return result


def stored_timeline(*, campaign_id) -> dict[datetime, dict[str, int]]:
    """The stored minutes, without those whose counts are all zero."""
    result = {}
    for row in TimelineMinute.objects.filter(campaign_id=campaign_id).values("minute", *KINDS):
        counts = {kind: row[kind] for kind in KINDS}
        if any(counts.values()):
            result[row["minute"]] = counts
    return result


def timeline_rebuild(*, campaign_id, counted: dict[datetime, dict[str, int]]) -> None:
    TimelineMinute.objects.filter(campaign_id=campaign_id).delete()
    TimelineMinute.objects.bulk_create(
        [
            TimelineMinute(campaign_id=campaign_id, minute=minute, **counts)
            for minute, counts in sorted(counted.items())
        ],
        batch_size=1000,
    )
