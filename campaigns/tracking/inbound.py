"""Inbound messages and marketing preferences: opt-outs, opt-ins and replies.

WhatsApp does not interpret "STOP" (docs/whatsapp.md §5.5): a text equal to an opt-out keyword
(STOP, UNSUBSCRIBE and OPT_OUT_KEYWORDS; case-insensitive, trimmed) puts the number on the
workspace's OptOut list, an opt-in keyword (START) takes it off again. The native control
arrives as `user_preferences` stop / resume. Each way of opting back in lifts only the
opt-outs it can speak for: START lifts a keyword opt-out, `resume` lifts a `user_preferences`
one (and a 131050, which is Meta enforcing that same preference); an operator's manual entry
is never lifted automatically. Webhooks come in any order, so each change is dated by its
message: an opt-in lifts only opt-outs not newer than it, and an opt-out older than the latest
opt-in that would lift it (OptIn) is ignored. The importer and the engine read the list.

A quick-reply tap names the template message it answers (`context.id`); any other inbound
message is a reply to the latest campaign message sent to that number on this account within
REPLY_WINDOW_HOURS. A recipient is marked replied once, with the campaign's replied_count.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from whatsapp.webhook_payload import InboundMessage, Preference

from ..audiences.timeline import contacts_mark_replied
from ..models import OptIn, OptOut, Recipient
from ..models_numbers import sent_from
from .counters import counters_apply
from .timeline import Deltas, add_events, timeline_apply

logger = logging.getLogger(__name__)


class Number(Protocol):
    """The connected number a webhook came for (the webhook inbox's `AccountRef`)."""

    @property
    def id(self) -> object: ...

    @property
    def workspace_id(self) -> object: ...


Source = OptOut.Source
MARKETING = "marketing_messages"
LIFTED_BY: dict[str, set[str]] = {
    Source.KEYWORD: {Source.KEYWORD},
    Source.USER_PREFERENCES: {Source.USER_PREFERENCES, Source.ERROR},
}
LIFTER: dict[str, str] = {source: by for by, sources in LIFTED_BY.items() for source in sources}


def _keywords(names) -> frozenset[str]:
    return frozenset(str(k).strip().casefold() for k in names if str(k).strip())


def inbound_messages_apply(*, account: Number, messages: list[InboundMessage]) -> int:
    """Opt-outs, opt-ins and replies for one change's messages; returns how many replied."""
    stop_words = _keywords(settings.OPT_OUT_KEYWORDS)
    start_words = _keywords(settings.OPT_IN_KEYWORDS)
    replied = 0
    for message in messages:
        word = message.text.strip().casefold()
        if word and word in stop_words:
            optout_add(
                workspace_id=account.workspace_id,
                phone=message.phone,
                source=Source.KEYWORD,
                detail=f"Replied {message.text.strip()[:40]!r}",
                at=message.timestamp,
            )
        elif word and word in start_words:
            optout_lift(
                workspace_id=account.workspace_id,
                phone=message.phone,
                by=Source.KEYWORD,
                at=message.timestamp,
            )
        replied += recipient_mark_replied(account_id=account.id, message=message)
    latest: dict[str, datetime] = {}
    for message in messages:
        latest[message.phone] = max(latest.get(message.phone, message.timestamp), message.timestamp)
    # The workspace's contacts with these numbers replied (segments filter on it).
    contacts_mark_replied(workspace_id=account.workspace_id, replies=latest)
    return replied


def preferences_apply(*, account: Number, preferences: list[Preference]) -> None:
    for pref in preferences:
        if pref.category and pref.category != MARKETING:
            logger.info("user preference ignored", extra={"category": pref.category})
            continue
        if pref.value == "stop":
            optout_add(
                workspace_id=account.workspace_id,
                phone=pref.phone,
                source=Source.USER_PREFERENCES,
                detail=pref.detail[:500],
                at=pref.timestamp,
            )
        else:
            optout_lift(
                workspace_id=account.workspace_id,
                phone=pref.phone,
                by=Source.USER_PREFERENCES,
                at=pref.timestamp,
            )


def optout_add(
    *, workspace_id, phone: str, source: str, detail: str = "", at: datetime | None = None
) -> bool:
    """Put the number on the list, as of `at` (when the person opted out; now by default). An
    existing entry (from any source) is left as it is, and an opt-out older than the latest
    opt-in that lifts it is ignored: that person has opted back in since."""
    at = at or timezone.now()
    lifter = LIFTER.get(source)
    if (
        lifter is not None
        and OptIn.objects.filter(
            workspace_id=workspace_id, phone=phone, by=lifter, opted_in_at__gt=at
        ).exists()
    ):
        logger.info(
            "opt-out older than the number's opt-in ignored",
            extra={"workspace_id": str(workspace_id), "phone": phone, "source": source},
        )
        return False
    try:
        with transaction.atomic():
            _, created = OptOut.objects.get_or_create(
                workspace_id=workspace_id,
                phone=phone,
                defaults={"source": source, "detail": detail, "opted_out_at": at},
            )
    except IntegrityError:  # a concurrent add of the same number won
        created = False
    if created:
        logger.info(
            "number opted out",
            extra={"workspace_id": str(workspace_id), "phone": phone, "source": source},
        )
    return created


def optout_lift(*, workspace_id, phone: str, by: str, at: datetime | None = None) -> bool:
    """Opt the number back in as of `at`: lifts the opt-outs `by` can speak for that are not
    newer than it, and remembers `at` for opt-outs that arrive late."""
    at = at or timezone.now()
    with transaction.atomic():
        latest, created = OptIn.objects.select_for_update().get_or_create(
            workspace_id=workspace_id, phone=phone, by=by, defaults={"opted_in_at": at}
        )
        if not created and latest.opted_in_at < at:
            latest.opted_in_at = at
            latest.save(update_fields=["opted_in_at"])
        deleted, _ = OptOut.objects.filter(
            workspace_id=workspace_id, phone=phone, source__in=LIFTED_BY[by], opted_out_at__lte=at
        ).delete()
    if deleted:
        logger.info(
            "number opted back in",
            extra={"workspace_id": str(workspace_id), "phone": phone, "by": by},
        )
    return bool(deleted)


def recipient_mark_replied(*, account_id, message: InboundMessage) -> int:
    """Mark the recipient this message answers as replied (once); returns 1 if it was."""
    recipients = Recipient.objects.filter(sent_from(account_id))  # replies come to the sender
    fields = ("id", "campaign_id", "replied_at")
    target = None
    if message.context_wamid:
        target = recipients.filter(wamid=message.context_wamid).values(*fields).first()
    if target is None:
        window = timedelta(hours=settings.REPLY_WINDOW_HOURS)
        target = (
            recipients.filter(
                phone=message.phone,
                sent_at__gte=message.timestamp - window,
                sent_at__lte=message.timestamp,
            )
            .order_by("-sent_at")
            .values(*fields)
            .first()
        )
    if target is None or target["replied_at"] is not None:
        return 0
    with transaction.atomic():
        # Conditional, so that a duplicate webhook processed concurrently counts once.
        updated = Recipient.objects.filter(id=target["id"], replied_at__isnull=True).update(
            replied_at=message.timestamp
        )
        if updated:
            counters_apply(campaign_id=target["campaign_id"], deltas={}, replied=1)
            timeline = Deltas()
            add_events(timeline, target["campaign_id"], "replied", message.timestamp)
            timeline_apply(timeline)
    return updated
