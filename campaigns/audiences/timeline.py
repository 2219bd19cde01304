"""A contact's history: its timeline across campaigns (docs/audiences.md §7), and the two
times kept on the contact itself, `last_messaged_at` (the engine, per recorded batch) and
`last_replied_at` (inbound messages, per webhook change), each one set-based statement.

The timeline is the contact's recipients in every campaign of its workspace, newest first:
those resolved from it (`Recipient.contact`) and those with its phone number (an uploaded
file's rows carry no contact link, but they were sent to the same person). Each row carries
its events: sent, delivered, read, replied, clicked, failed (with Meta's reason).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Case, DateTimeField, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Greatest

from ..models import Campaign, Contact, Recipient

CONTACT_TABLE = Contact._meta.db_table
RECIPIENT_TABLE = Recipient._meta.db_table
EVENTS = ("sent", "delivered", "read", "replied", "clicked", "failed")


def contact_timeline(*, contact: Contact) -> QuerySet[Recipient]:
    """The contact's recipients in its workspace's campaigns, newest first (by id, for a
    cursor). Matched by contact link or by phone: (campaign_id, phone) is unique and indexed."""
    campaigns = Campaign.objects.filter(workspace_id=contact.workspace_id).values("id")
    return (
        Recipient.objects.filter(
            Q(contact_id=contact.pk) | Q(phone=contact.phone, campaign_id__in=campaigns)
        )
        .select_related("campaign", "campaign__template")
        .order_by("-id")
    )


def recipient_events(recipient: Recipient) -> list[dict]:
    """{type, at[, error]} of one message, newest first."""
    events = []
    for kind in EVENTS:
        at = getattr(recipient, f"{kind}_at")
        if at is None:
            continue
        event: dict = {"type": kind, "at": at}
        if kind == "failed":
            event["error"] = {
                "code": recipient.error_code,
                "title": recipient.error_title,
                "details": recipient.error_details,
            }
        events.append(event)
    events.sort(key=lambda e: e["at"], reverse=True)
    return events


def contacts_mark_messaged(c, *, recipient_ids: list[int], at: datetime) -> None:
    """`last_messaged_at` of the contacts these just-sent recipients were resolved from, in
    one statement (called by the engine's record, only for a campaign with an audience)."""
    if not recipient_ids:
        return
    params: list
    if connection.vendor == "postgresql":
        where, params = "= ANY(%s)", [list(recipient_ids)]
    else:
        where, params = f"IN ({', '.join(['%s'] * len(recipient_ids))})", list(recipient_ids)
    c.execute(
        f"""UPDATE {CONTACT_TABLE} SET last_messaged_at = %s
            WHERE id IN (SELECT contact_id FROM {RECIPIENT_TABLE}
                         WHERE id {where} AND contact_id IS NOT NULL)""",
        [at, *params],
    )


def contacts_mark_replied(*, workspace_id, replies: dict[str, datetime]) -> int:
    """`last_replied_at` of the workspace's contacts with these phones ({phone: when the
    latest message was sent}), never moved back; one statement per webhook change."""
    if not replies:
        return 0
    when = Case(
        *[When(phone=phone, then=Value(at)) for phone, at in replies.items()],
        output_field=DateTimeField(),
    )
    return Contact.objects.filter(workspace_id=workspace_id, phone__in=list(replies)).update(
        last_replied_at=Greatest(Coalesce(F("last_replied_at"), when), when)
    )
