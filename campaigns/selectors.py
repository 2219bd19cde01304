"""Reads of campaigns, always scoped to the caller's workspaces."""

import re
from collections.abc import Collection
from datetime import datetime

from django.db.models import QuerySet

from accounts.selectors import get_scoped_or_404, scoped

from .engine.store import remaining
from .importing.phones import normalize
from .models import Campaign, Recipient


def campaign_list_for_user(*, user, status: str | None = None) -> QuerySet[Campaign]:
    qs = scoped(Campaign.objects.select_related("template", "account", "workspace"), user=user)
    if status:
        qs = qs.filter(status=status)
    return qs


def campaign_get_for_user(*, user, campaign_id) -> Campaign:
    return get_scoped_or_404(
        Campaign.objects.select_related("template", "account", "workspace"),
        user=user,
        id=campaign_id,
    )


def campaign_deferred_until(campaign: Campaign) -> datetime | None:
    """When a running campaign that is only waiting resumes: every recipient left is pending
    with a later attempt (Meta's limits, the messaging tier) and nothing is being sent. None
    for a campaign that is sending, or not running. The engine's own reading of what is left
    (`store.remaining`), only then."""
    if campaign.status != Campaign.Status.RUNNING or campaign.sending_count:
        return None
    if not campaign.pending_count:
        return None
    left = remaining(campaign_id=campaign.pk)
    if left["due"] or left["sending"]:
        return None
    return left["later"]


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
