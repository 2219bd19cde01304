"""Pre-flight: everything an operator should see on one screen before pressing send."""

import json
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import Substr
from django.utils import timezone
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from config.redis import get_redis
from whatsapp.variables import OFFER_COLUMN, variables_for

from .models import Campaign, OptOut, Recipient
from .models_numbers import numbers_of

PREFIX_DIGITS = 4  # "+" and up to 3 digits: every calling code is 1–3 digits, prefix-free


def calling_code(prefix: str) -> str | None:
    digits = prefix.lstrip("+")
    for length in (1, 2, 3):
        if int(digits[:length] or 0) in COUNTRY_CODE_TO_REGION_CODE:
            return digits[:length]
    return None


def unique_sent_last_24h(waba_id: str) -> int:
    """Unique users this installation reached in 24 h on the WABA's numbers: the messaging
    limit is shared by them, as the engine's TierGate counts it."""
    since = timezone.now() - timedelta(hours=24)
    return (
        Recipient.objects.filter(campaign__account__waba_id=waba_id, sent_at__gte=since)
        .values("phone")
        .distinct()
        .count()
    )


def _number_warnings(numbers: list) -> list[str]:
    """What stands in the way of each number the campaign sends from (named when several)."""
    warnings = []
    for account in numbers:
        which = f" ({account})" if len(numbers) > 1 else ""
        if account.state != account.State.ACTIVE:
            warnings.append(f"The WhatsApp account{which} needs attention: {account.state_reason}")
        if blocked := account.blocked_reason():
            warnings.append(f"Meta does not let this account{which} send: {blocked}")
        if account.quality_flagged:
            warnings.append(
                f"Meta flagged this number{which} for low quality: if it does not improve, "
                "its messaging limit is lowered."
            )
    return warnings


def campaign_preflight(campaign: Campaign) -> dict:
    pending = Recipient.objects.filter(campaign=campaign, status=Recipient.Status.PENDING)
    # Opted out since the import: the engine skips them at send time.
    opted_out_numbers = OptOut.objects.filter(workspace_id=campaign.workspace_id).values("phone")
    opted_out = pending.filter(phone__in=opted_out_numbers).count()
    recipients = pending.exclude(phone__in=opted_out_numbers) if opted_out else pending
    by_prefix = (
        recipients.annotate(prefix=Substr("phone", 1, PREFIX_DIGITS))
        .values("prefix")
        .annotate(n=Count("id"))
    )
    by_country: dict[str, int] = {}
    for row in by_prefix:
        code = calling_code(row["prefix"]) or "other"
        by_country[code] = by_country.get(code, 0) + row["n"]
    to_send = sum(by_country.values())
    category = campaign.template.category or "MARKETING"
    cost_lines, total_cost, unpriced = [], 0.0, 0
    for code, n in sorted(by_country.items(), key=lambda kv: -kv[1]):
        price = unit_price(category, code)
        if price is None:
            unpriced += n
        else:
            total_cost += price * n
        cost_lines.append(
            {
                "country_code": code,
                "recipients": n,
                "unit_price": price,
                "cost": None if price is None else round(price * n, 4),
            }
        )
    account = campaign.account
    numbers = numbers_of(campaign)
    capacity = sum(n.throughput for n in numbers)
    rate = min(campaign.rate_limit, capacity)
    limit = account.daily_unique_limit
    used = unique_sent_last_24h(account.waba_id) if limit is not None else None
    headroom = None if limit is None else max(0, limit - used)
    template = campaign.template
    warnings = []
    if not template.is_sendable:
        warnings.append(f"The template is {template.status}: it cannot be sent.")
    warnings += _template_warnings(template, pending, campaign)
    if headroom is not None and to_send > headroom:
        warnings.append(
            f"{to_send - headroom} recipients exceed the number's messaging limit "
            f"({limit} unique users per 24 h, shared by the account's numbers); they will be "
            "deferred, not failed."
        )
    if opted_out:
        warnings.append(f"{opted_out} recipients opted out since the import: they are skipped.")
    if campaign.rate_limit > capacity:
        which = "The number sends" if len(numbers) == 1 else f"Its {len(numbers)} numbers send"
        warnings.append(
            f"{which} at most {capacity} msg/s; the campaign's "
            f"rate of {campaign.rate_limit} cannot be reached."
        )
    warnings += _number_warnings(numbers)
    return {
        "recipients": campaign.total_recipients,
        "to_send": to_send,
        "skipped": campaign.skipped_count + opted_out,
        "opted_out_since_import": opted_out,
        "estimated_seconds": round(to_send / rate, 1) if rate else None,
        "effective_rate": rate,
        "numbers": [
            {
                "id": str(n.pk),
                "name": n.name,
                "display_phone_number": n.display_phone_number,
                "throughput": n.throughput,
            }
            for n in numbers
        ],
        "messaging_limit": limit,
        "unique_sent_last_24h": used,
        "tier_headroom": headroom,
        "template": {
            "name": template.name,
            "status": template.status,
            "quality": template.quality_score or "UNKNOWN",
            "category": template.category,
        },
        "cost": {
            "currency": settings.PRICE_CURRENCY,
            "total": round(total_cost, 4),
            "unpriced_recipients": unpriced,
            "by_country": cost_lines,
        },
        # What Meta's status webhooks priced so far, beside the estimate.
        "actual_cost": campaign_actual_cost(campaign),
        "warnings": warnings,
    }


def unit_price(category: str, code: str | None) -> float | None:
    """PRICE_TABLE's price of one message of `category` to the calling code `code` (its
    default for a code it does not list); None when the table has none."""
    table = settings.PRICE_TABLE
    key = category.upper()
    if key not in table and key == "MARKETING_LITE":
        # Marketing Messages API sends are billed as marketing messages unless the table
        # gives them a row of their own (docs/whatsapp.md §11.2).
        key = "MARKETING"
    prices = table.get(key, {})
    return prices.get(code or "", prices.get("default"))


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _template_warnings(template, pending, campaign) -> list[str]:
    """What Meta's template webhooks mean for this send (templates_app.events)."""
    warnings = []
    since = f" since {_when(template.quality_changed_at)}" if template.quality_changed_at else ""
    if template.quality_score == "RED":
        warnings.append(
            f"Meta rates this template's quality RED{since}: recipients have been blocking or "
            "reporting it. Meta may pause it (then the campaign pauses), and sending it hurts "
            "the number's quality."
        )
    elif template.quality_score == "YELLOW":
        warnings.append(f"The template's quality is YELLOW{since}.")
    if template.category_changed_from and template.category_changed_at:
        extra = ""
        if template.category == "MARKETING":
            extra = (
                ", and Meta's per-user limit on marketing messages applies (some recipients "
                "may be deferred, 131049)"
            )
        warnings.append(
            f"Meta recategorised this template from {template.category_changed_from} to "
            f"{template.category} on {_when(template.category_changed_at)}: it is priced as "
            f"{template.category}{extra}."
        )
    if template.pending_category:
        when = (
            f" from {_when(template.pending_category_from)}"
            if template.pending_category_from
            else ""
        )
        warnings.append(
            f"Meta will recategorise this template as {template.pending_category}{when}."
        )
    sample = pending.values_list("values", flat=True).first()
    if sample is not None:
        columns = {v.column for v in variables_for(template) if v.required}
        if campaign.offer_expires_at is not None:
            columns.discard(OFFER_COLUMN)  # the campaign gives it to rows without one
        missing = sorted(columns - set(sample))
        if missing:
            edited = (
                f" (edited on WhatsApp {_when(template.components_changed_at)})"
                if template.components_changed_at
                else ""
            )
            warnings.append(
                f"The template{edited} needs columns the recipients' spreadsheet lacks: "
                f"{', '.join(missing)}. Download the new sample and import the recipients again."
            )
    if campaign.offer_expires_at is not None and campaign.offer_expires_at <= timezone.now():
        warnings.append(
            f"The campaign's limited-time offer ended {_when(campaign.offer_expires_at)}: "
            "recipients without their own offer_expiration_time will be skipped (offer_expired)."
        )
    return warnings


# Prices of messages Meta does not bill: the service category, and the free types (a reply
# within the customer-service window, a free entry point).
FREE_CATEGORIES = {"service", "referral_conversion"}
ACTUAL_COST_CACHE_SECONDS = 10


def _is_billed(category: str, billable, pricing_type: str) -> bool:
    if billable is False:
        return False
    return category.lower() not in FREE_CATEGORIES and not pricing_type.lower().startswith("free")


def message_cost(phone: str, category: str, billable, pricing_type: str) -> float | None:
    """One message's price from Meta's pricing on its status: 0 when free, None when it
    carried no pricing or the table has no price for it (the export's `cost` column)."""
    if not category:
        return None
    if not _is_billed(category, billable, pricing_type):
        return 0.0
    return unit_price(category, calling_code(phone[:PREFIX_DIGITS]))


def campaign_actual_cost(campaign: Campaign) -> dict:
    """What Meta's status webhooks say the campaign has cost so far: every recipient whose
    status carried `pricing`, billed ones priced by PRICE_TABLE (category × calling code), the
    free ones (service, free types, `billable: false`) at 0. Counted from the recipients and
    kept for ACTUAL_COST_CACHE_SECONDS (the stats endpoint is polled)."""
    key = f"campaign-actual-cost:{campaign.pk}"
    redis = get_redis()
    cached = redis.get(key)
    if cached:
        return json.loads(cached)
    rows = (
        Recipient.objects.filter(campaign=campaign)
        .exclude(pricing_category="")
        .annotate(prefix=Substr("phone", 1, PREFIX_DIGITS))
        .values("pricing_category", "pricing_billable", "pricing_type", "prefix")
        .annotate(n=Count("id"))
    )
    total, priced, free, unpriced = 0.0, 0, 0, 0
    by_category: dict[str, dict] = {}
    for row in rows:
        category, n = row["pricing_category"].lower(), row["n"]
        line = by_category.setdefault(category, {"category": category, "messages": 0, "cost": 0.0})
        line["messages"] += n
        if not _is_billed(category, row["pricing_billable"], row["pricing_type"]):
            free += n
            continue
        price = unit_price(category, calling_code(row["prefix"]))
        if price is None:
            unpriced += n
            continue
        priced += n
        total += price * n
        line["cost"] += price * n
    result = {
        "currency": settings.PRICE_CURRENCY,
        "total": round(total, 4),
        "billed_messages": priced,
        "free_messages": free,
        "unpriced_messages": unpriced,
        "by_category": [
            {**line, "cost": round(line["cost"], 4)}
            for line in sorted(by_category.values(), key=lambda line: line["category"])
        ],
    }
    redis.set(key, json.dumps(result), ex=ACTUAL_COST_CACHE_SECONDS)
    return result
