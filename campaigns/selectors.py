"""Reads of campaigns, always scoped to the caller's workspaces."""

import json
import re
import uuid
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from accounts.selectors import get_scoped_or_404, scoped
from config.redis import get_redis
from whatsapp.models import WhatsAppAccount

from .importing.phones import normalize
from .models import Campaign, OptOut, Recipient, TimelineMinute
from .models_numbers import numbers_of
from .preflight import ACTUAL_COST_CACHE_SECONDS, campaign_actual_cost
from .tracking.statuses import HELD
from .tracking.timeline import KINDS

DEFERRED_SHOWN = 100


def campaign_list_for_user(*, user, status: str | None = None) -> QuerySet[Campaign]:
    qs = scoped(
        Campaign.objects.select_related("template", "account", "workspace").prefetch_related(
            "pool"
        ),
        user=user,
    )
    if status:
        qs = qs.filter(status=status)
    return qs


def campaign_get_for_user(*, user, campaign_id) -> Campaign:
    return get_scoped_or_404(
        Campaign.objects.select_related("template", "account", "workspace"),
        user=user,
        id=campaign_id,
    )


def campaign_deferred_until(campaign: Campaign, *, deferred: dict | None = None) -> datetime | None:
    """When a running campaign that is only waiting resumes: every recipient left is pending
    with a later attempt (Meta's limits, the messaging tier) and nothing is being sent. None
    for a campaign that is sending, or not running. Read from the counters and the deferred
    recipients' partial index (`campaign_deferred`, which a caller may pass in), so it costs
    the same on a million recipients as on ten."""
    if campaign.status != Campaign.Status.RUNNING or campaign.sending_count:
        return None
    if not campaign.pending_count:
        return None
    deferred = deferred if deferred is not None else campaign_deferred(campaign, limit=0)
    if deferred["count"] < campaign.pending_count:
        return None  # some are due now
    return deferred["next_attempt_at"]


def recipient_list(
    *,
    campaign: Campaign,
    statuses: Collection[str] = (),
    phone: str | None = None,
    wamid: str | None = None,
) -> QuerySet[Recipient]:
    """A campaign's recipients (the caller has the campaign from `campaign_get_for_user`),
    optionally only those of `statuses`, those with `phone` (`recipient_phone_lookup`) and
    the one with `wamid`."""
    qs = Recipient.objects.filter(campaign=campaign)
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    if phone:
        number, exact = recipient_phone_lookup(phone)
        # A full number: the unique (campaign, phone) index, one row. A part: its start.
        qs = qs.filter(phone=number) if exact else qs.filter(phone__startswith=number)
    if wamid:
        qs = qs.filter(wamid=wamid)
    return qs


_NOT_DIGITS = re.compile(r"\D")


def recipient_phone_lookup(text: str) -> tuple[str, bool]:
    """What a phone search means: `(number, exact)`. Whatever the format (`+1 (415)
    555-0100`, `0014155550100`), the digits with a leading + and their country code first;
    exact when they are a valid number, as the importer stored it (E.164), else the start
    of one."""
    digits = _NOT_DIGITS.sub("", text)
    if not text.strip().startswith("+") and digits.startswith("00"):
        digits = digits[2:]  # the international prefix
    e164, _ = normalize(None, "+" + digits)
    if e164 is not None:
        return e164, True
    return "+" + digits, False


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def click_rate(campaign: Campaign) -> float | None:
    """Recipients who clicked over those delivered (delivered or read): null before any
    delivery. A click can be recorded before its delivery status arrives (docs/clicks.md)."""
    return _rate(campaign.clicked_count, campaign.delivered_count + campaign.read_count)


def campaign_funnel(campaign: Campaign) -> dict:
    """Counts from the campaign's counters (funnel figures: a read message was also
    delivered and sent), and the rates between its steps (null while a step has none)."""
    read = campaign.read_count
    delivered = campaign.delivered_count + read
    sent = campaign.sent_count + delivered
    failed = campaign.failed_count
    counts = {
        "total": campaign.total_recipients,
        "pending": campaign.pending_count,
        "sending": campaign.sending_count,
        "sent": sent,
        "delivered": delivered,
        "read": read,
        "failed": failed,
        "skipped": campaign.skipped_count,
        "unknown": campaign.unknown_count,
        "replied": campaign.replied_count,
        "clicked": campaign.clicked_count,
    }
    rates = {
        "delivered": _rate(delivered, sent),
        "read": _rate(read, delivered),
        "replied": _rate(campaign.replied_count, delivered),
        "clicked": click_rate(campaign),
        "failed": _rate(failed, sent + failed),
    }
    return {"counts": counts, "rates": rates}


def campaign_timeline(campaign: Campaign, *, since: datetime | None = None) -> list[dict]:
    """Per UTC minute with any event, from `since` (a minute) on: sent, delivered, read,
    failed and replied, as the recipients' times fall."""
    rows = TimelineMinute.objects.filter(campaign=campaign)
    if since is not None:
        rows = rows.filter(minute__gte=since)
    points = []
    for row in rows.order_by("minute").values("minute", *KINDS):
        if any(row[kind] for kind in KINDS):
            points.append(row)
    return points


def campaign_failure_reasons(campaign: Campaign) -> list[dict]:
    """The failed recipients grouped by Meta's error code, most frequent first, each with
    the title Meta gave it (one recipient's; a code's title does not vary)."""
    failed = Recipient.objects.filter(campaign=campaign, status=Recipient.Status.FAILED)
    groups = list(
        # COUNT(*), not COUNT(id): the partial index holds the code, so the scan is index-only.
        failed.values("error_code").annotate(count=Count("*")).order_by("-count", "error_code")
    )
    for group in groups:
        # Any one row's (unordered: the first the index gives, not a sort of the code's rows).
        example = (
            failed.filter(error_code=group["error_code"])
            .exclude(error_title="")
            .order_by()
            .values_list("error_title", flat=True)[:1]
        )
        group["code"] = group.pop("error_code")
        group["title"] = next(iter(example), "")
    return groups


def campaign_deferred(campaign: Campaign, *, limit: int = DEFERRED_SHOWN) -> dict:
    """The recipients waiting for a later attempt (Meta's limits, the messaging tier, a
    retry's backoff): how many, the earliest and latest next attempt, and the first `limit`
    in next-attempt order."""
    now = timezone.now()
    waiting = Recipient.objects.filter(
        campaign=campaign,
        status=Recipient.Status.PENDING,
        next_attempt_at__isnull=False,
        next_attempt_at__gt=now,
    )
    summary = waiting.aggregate(
        count=Count("*"), first=Min("next_attempt_at"), last=Max("next_attempt_at")
    )
    # The index's order (no sort); none when the caller wants only the figures.
    fields = ("id", "phone", "attempts", "next_attempt_at", "error_code", "error_title")
    shown = list(waiting.order_by("next_attempt_at").values(*fields)[:limit]) if limit else []
    return {
        "count": summary["count"],
        "next_attempt_at": summary["first"],
        "last_attempt_at": summary["last"],
        "recipients": shown,
    }


def campaign_held(campaign: Campaign) -> int:
    """Recipients Meta holds under template pacing (docs/whatsapp.md §11.3): accepted as
    held_for_quality_assessment, no status since. Meta delivers them once the template's
    quality is judged good, or drops them (a failed status, 132015). A partial index."""
    return Recipient.objects.filter(
        campaign=campaign, status=Recipient.Status.SENT, message_status=HELD
    ).count()


def campaign_stats(campaign: Campaign, *, since: datetime | None = None) -> dict:
    """What the stats endpoint and the campaign page show: the funnel, the per-minute
    timeline, failure reasons and deferred recipients. Each part reads the counters, the
    timeline or a partial index, so its cost does not grow with the campaign's size."""
    return {
        "campaign": campaign.pk,
        "status": campaign.status,
        "generated_at": timezone.now(),
        "funnel": campaign_funnel(campaign),
        "timeline": campaign_timeline(campaign, since=since),
        "failure_reasons": campaign_failure_reasons(campaign),
        "deferred": campaign_deferred(campaign),
        "held": campaign_held(campaign),
        # Meta's pricing on the statuses so far (counted from the recipients, cached 10 s).
        "actual_cost": campaign_actual_cost(campaign),
    }


def campaign_send_rate(campaign: Campaign) -> float:
    """Messages a second the campaign is sending at: the sends of the last two full minutes
    of its timeline, or (before it has any) the rate it was given and the number allows."""
    now = timezone.now().replace(second=0, microsecond=0)
    recent = TimelineMinute.objects.filter(
        campaign=campaign, minute__gte=now - timedelta(minutes=2), minute__lt=now
    ).aggregate(sent=Sum("sent"), failed=Sum("failed"))
    attempts = (recent["sent"] or 0) + (recent["failed"] or 0)
    if attempts:
        return attempts / 120
    capacity = sum(n.throughput for n in numbers_of(campaign))
    return float(min(campaign.rate_limit, capacity or campaign.rate_limit))


def campaign_eta(campaign: Campaign, *, deferred: dict | None = None) -> datetime | None:
    """When a running campaign should have sent everything due: what is left over its
    current rate (recipients waiting for a later attempt are not counted: they resume at
    their own time, shown apart). None unless it is running with something left."""
    if campaign.status != Campaign.Status.RUNNING:
        return None
    deferred = deferred if deferred is not None else campaign_deferred(campaign, limit=0)
    left = campaign.pending_count + campaign.sending_count - deferred["count"]
    if left <= 0:
        return None
    return timezone.now() + timedelta(seconds=left / campaign_send_rate(campaign))


def number_label(account: WhatsAppAccount) -> str:
    """A number as its recipients see it; its phone number id when Meta gave no display."""
    return account.display_phone_number or account.phone_number_id


def sending_number_id(
    campaign: Campaign, *, number_id, send_path: str, sent_at
) -> uuid.UUID | None:
    """The number a recipient's message left from: its `number`, or (a row sent before numbers
    were recorded) its campaign's account. None until a request for it left: its `send_path`
    says so (its `sent_at`, for a row sent before send paths were recorded), as a row claimed
    and then released keeps the number it was claimed for."""
    if not send_path and sent_at is None:
        return None
    return number_id or campaign.account_id


class NumberLabels(dict[uuid.UUID, str]):
    """{account id: `number_label`} for the numbers a campaign's recipients were sent from:
    its numbers given up front, any other (one taken out of the pool since) read once when
    first met; "" for an account that no longer exists."""

    def __init__(self, numbers: Iterable[WhatsAppAccount]):
        super().__init__((a.pk, number_label(a)) for a in numbers)

    def __missing__(self, pk: uuid.UUID) -> str:
        account = WhatsAppAccount.objects.filter(pk=pk).first()
        self[pk] = label = number_label(account) if account is not None else ""
        return label


_BY_NUMBER = (
    Recipient.Status.SENT,
    Recipient.Status.DELIVERED,
    Recipient.Status.READ,
    Recipient.Status.FAILED,
)


def campaign_number_breakdown(campaign: Campaign, *, numbers: list[WhatsAppAccount]) -> list[dict]:
    """Per number the campaign sends from (`numbers`: `numbers_of(campaign)`), and any it
    sent from before being taken out of the pool: sent, delivered and read as funnel figures
    (as `campaign_funnel`'s: a read message was also delivered and sent) and failed.

    One GROUP BY over the campaign's sent and failed rows (the (campaign, status, id) index's
    ranges, each row read for its number), kept 10 s (`_number_groups`): it grows with what
    was sent, so the campaign page shows it when drawn, not in the fragment it polls. A row
    from before numbers were recorded counts for the campaign's own account
    (`models_numbers.sent_from`)."""
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for group in _number_groups(campaign):
        total = counts.setdefault(
            group["number_id"] or campaign.account_id, dict.fromkeys(_BY_NUMBER, 0)
        )
        for state in _BY_NUMBER:
            total[state] += group[f"n_{state}"]
    pooled = {a.pk for a in numbers}
    gone = [pk for pk in counts if pk not in pooled]
    accounts = [*numbers, *WhatsAppAccount.objects.filter(pk__in=gone)] if gone else numbers
    rows = [_number_row(campaign, a, counts.get(a.pk), in_pool=a.pk in pooled) for a in accounts]
    deleted = set(gone) - {a.pk for a in accounts}
    rows += [_number_row(campaign, None, counts[pk], in_pool=False) for pk in deleted]
    return rows


def _number_groups(campaign: Campaign) -> list[dict]:
    """The breakdown's GROUP BY, kept for ACTUAL_COST_CACHE_SECONDS like the actual cost's
    (a page drawn again and again must not scan a million rows each time)."""
    key = f"campaign-number-breakdown:{campaign.pk}"
    redis = get_redis()
    cached = redis.get(key)
    if cached:
        return [
            {**g, "number_id": uuid.UUID(g["number_id"]) if g["number_id"] else None}
            for g in json.loads(cached)
        ]
    groups = list(
        Recipient.objects.filter(campaign=campaign, status__in=_BY_NUMBER)
        .values("number_id")
        .annotate(**{f"n_{s}": Count("id", filter=Q(status=s)) for s in _BY_NUMBER})
        .order_by()
    )
    stored = [{**g, "number_id": str(g["number_id"]) if g["number_id"] else None} for g in groups]
    redis.set(key, json.dumps(stored), ex=ACTUAL_COST_CACHE_SECONDS)
    return groups


def _number_row(campaign, account, counts, *, in_pool: bool) -> dict:
    c = counts or dict.fromkeys(_BY_NUMBER, 0)
    read = c[Recipient.Status.READ]
    delivered = c[Recipient.Status.DELIVERED] + read
    return {
        "pk": account.pk if account else None,
        "name": account.name if account else "A number since deleted",
        "number": number_label(account) if account else "",
        "throughput": f"{account.throughput:,} msg/s" if account else "",
        "blocked": account.blocked_reason() if account else "",
        "attention": account is not None and account.state == account.State.NEEDS_ATTENTION,
        "own": account is not None and account.pk == campaign.account_id,
        "in_pool": in_pool,
        "sent": c[Recipient.Status.SENT] + delivered,
        "delivered": delivered,
        "read": read,
        "failed": c[Recipient.Status.FAILED],
    }


RECIPIENTS_PER_PAGE = 50


def recipient_page(*, campaign: Campaign, statuses=(), phone=None, after: int | None = None):
    """One page of the campaign's recipients in import order, after recipient id `after`:
    keyset paging (WHERE id > after … LIMIT), so page 1,000 costs what page 1 does. Returns
    (rows, the id to continue after, or None on the last page)."""
    rows = recipient_list(campaign=campaign, statuses=statuses, phone=phone).order_by("id")
    if after:
        rows = rows.filter(id__gt=after)
    page = list(rows[: RECIPIENTS_PER_PAGE + 1])
    more = len(page) > RECIPIENTS_PER_PAGE
    page = page[:RECIPIENTS_PER_PAGE]
    return page, (page[-1].pk if more else None)


def optout_list_for_user(
    *, user, workspace_id=None, phone: str = "", before: int | None = None, after: int | None = None
) -> QuerySet[OptOut]:
    """The opt-out lists of the user's workspaces (or of one of them), newest first (by id,
    the primary key's index: keyset pages with `before`/`after` cost the same on page 1,000
    as on page 1). `phone`: only numbers containing these digits."""
    qs = scoped(OptOut.objects.select_related("workspace"), user=user)
    if workspace_id is not None:
        qs = qs.filter(workspace_id=workspace_id)
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits:
        qs = qs.filter(phone__contains=digits)
    if before is not None:
        qs = qs.filter(id__lt=before)
    if after is not None:
        return qs.filter(id__gt=after).order_by("id")
    return qs.order_by("-id")
