"""Campaign counters: one column per recipient state, changed in the same transaction as the
recipients themselves, so the live figures are one row to read and always equal a recount.
"""

from collections import Counter

from django.db import transaction
from django.db.models import Count, F

from ..models import Campaign, Recipient
from .timeline import stored_timeline, timeline_from_recipients, timeline_rebuild

STATE_COLUMNS: dict[str, str] = {
    Recipient.Status.PENDING: "pending_count",
    Recipient.Status.SENDING: "sending_count",
    Recipient.Status.SENT: "sent_count",
    Recipient.Status.DELIVERED: "delivered_count",
    Recipient.Status.READ: "read_count",
    Recipient.Status.FAILED: "failed_count",
    Recipient.Status.SKIPPED: "skipped_count",
    Recipient.Status.UNKNOWN: "unknown_count",
}


def counters_apply(
    *, campaign_id, deltas: dict[str, int], total: int = 0, replied: int = 0, clicked: int = 0
):
    """Add `deltas` ({state: +n / -n}) to the campaign's counters in one UPDATE; `replied`
    and `clicked` count recipients whose `replied_at` / `clicked_at` were just set.

    Call it inside the transaction that changed the recipients.
    """
    changes = {
        STATE_COLUMNS[state]: F(STATE_COLUMNS[state]) + delta
        for state, delta in deltas.items()
        if delta
    }
    if total:
        changes["total_recipients"] = F("total_recipients") + total
    if replied:
        changes["replied_count"] = F("replied_count") + replied
    if clicked:
        changes["clicked_count"] = F("clicked_count") + clicked
    if changes:
        Campaign.objects.filter(pk=campaign_id).update(**changes)


def transition_deltas(pairs) -> dict[str, int]:
    """Deltas for recipients that moved `from_state → to_state` (an iterable of pairs)."""
    deltas: Counter = Counter()
    for old, new in pairs:
        if old != new:
            deltas[old] -= 1
            deltas[new] += 1
    return dict(deltas)


def counts_from_recipients(*, campaign_id) -> dict:
    """What the counters should be, counted from the recipients themselves."""
    by_state = dict(
        Recipient.objects.filter(campaign_id=campaign_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    counts = {column: by_state.get(state, 0) for state, column in STATE_COLUMNS.items()}
    counts["total_recipients"] = sum(by_state.values())
    counts["replied_count"] = Recipient.objects.filter(
        campaign_id=campaign_id, replied_at__isnull=False
    ).count()
    counts["clicked_count"] = Recipient.objects.filter(
        campaign_id=campaign_id, clicked_at__isnull=False
    ).count()
    return counts


def stored_counts(*, campaign_id) -> dict:
    fields = [*STATE_COLUMNS.values(), "total_recipients", "replied_count", "clicked_count"]
    return Campaign.objects.filter(pk=campaign_id).values(*fields).get()


@transaction.atomic
def campaign_recount(*, campaign_id, dry_run: bool = False) -> dict[str, tuple]:
    """Rebuild the counters and the timeline from the recipients (the repair tool:
    `manage.py campaign_recount` and the Campaign admin's action; tests prove it is a no-op).
    Returns what was wrong, {column: (stored, recounted)}, with the timeline's minutes that
    differ under "timeline"; with `dry_run` it changes nothing."""
    Campaign.objects.select_for_update().filter(pk=campaign_id).get()
    stored = stored_counts(campaign_id=campaign_id)
    counts = counts_from_recipients(campaign_id=campaign_id)
    wrong: dict[str, tuple] = {
        column: (stored[column], n) for column, n in counts.items() if stored[column] != n
    }
    if wrong and not dry_run:
        Campaign.objects.filter(pk=campaign_id).update(**counts)
    timeline = stored_timeline(campaign_id=campaign_id)
    counted = timeline_from_recipients(campaign_id=campaign_id)
    if timeline != counted:
        minutes = sorted(
            m for m in timeline.keys() | counted.keys() if timeline.get(m) != counted.get(m)
        )
        first = f"{minutes[0]:%Y-%m-%d %H:%M} UTC"
        wrong["timeline"] = (f"{len(minutes)} minute(s) wrong from {first}", "recounted")
        if not dry_run:
            timeline_rebuild(campaign_id=campaign_id, counted=counted)
    return wrong
