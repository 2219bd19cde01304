"""A contact's erasure, in the inbox (docs/audiences.md §7): the raw events of the workspace's
numbers that name the erased phone forget it.

Connected (webhooks/apps.py) to `campaigns.audiences.contact_erase.contact_erased`, sent inside
the erase's transaction: campaigns may not import this app (docs/architecture.md §2), so it
says what happened and the inbox, which owns the events, acts.

Processed and rejected events are redacted: the person's inbound messages (their text),
their profile (`contacts`) and marketing-preference items are removed, their number in status
items blanked; the rest of the event (other people's statuses) stays, for inspection. An event
still naming the number afterwards (a shape this does not know, or not JSON) is deleted.
Events not processed yet (pending, failed: due for a retry) are left to the drain: one may
carry the person's STOP, which must still reach the opt-out list.
"""

from __future__ import annotations

import json
import logging

from django.db import connection

from whatsapp.models import WhatsAppAccount

from ..models import WebhookEvent

logger = logging.getLogger(__name__)

DONE = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.REJECTED)


def _naming(workspace_id, token: bytes) -> list[int]:
    """Ids of the workspace's finished events whose body contains `token` (a scan of the body
    column, bounded by WEBHOOK_RETENTION_DAYS; an erasure is rare)."""
    table = WebhookEvent._meta.db_table
    contains = (
        "position(%s::bytea in e.body) > 0"
        if connection.vendor == "postgresql"
        else "instr(e.body, %s) > 0"
    )
    accounts = WhatsAppAccount._meta.db_table
    with connection.cursor() as c:
        c.execute(
            f"SELECT e.id FROM {table} e JOIN {accounts} a ON a.id = e.account_id "
            f"WHERE a.workspace_id = %s AND e.status IN (%s, %s) AND {contains} ORDER BY e.id",
            [_db_id(workspace_id), *DONE, token],
        )
        return [row[0] for row in c.fetchall()]


def _db_id(value):
    return value if connection.vendor == "postgresql" else value.hex


def _redacted(body: bytes, digits: str) -> bytes | None:
    """The body without the person's items, or None when it cannot be made not to name them."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    for entry in data.get("entry") or [] if isinstance(data, dict) else []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            for key, field in (
                ("messages", "from"),
                ("contacts", "wa_id"),
                ("user_preferences", "wa_id"),
            ):
                if isinstance(value.get(key), list):
                    value[key] = [
                        i
                        for i in value[key]
                        if not (isinstance(i, dict) and i.get(field) == digits)
                    ]
            for item in value.get("statuses") or []:
                if isinstance(item, dict) and item.get("recipient_id") == digits:
                    item["recipient_id"] = ""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return None if f'"{digits}"'.encode() in text else text


def webhook_events_forget(*, workspace_id, phone: str, **kwargs) -> None:
    """The signal's receiver: redact (or delete) the events naming `phone`."""
    digits = phone.lstrip("+")
    if not digits.isdigit():
        return
    token = f'"{digits}"'.encode()
    redacted = deleted = 0
    for event_id in _naming(workspace_id, token):
        event = WebhookEvent.objects.filter(pk=event_id).only("id", "body").first()
        if event is None:
            continue
        body = _redacted(bytes(event.body), digits)
        if body is None:
            event.delete()
            deleted += 1
        else:
            WebhookEvent.objects.filter(pk=event_id).update(body=body)
            redacted += 1
    if redacted or deleted:
        logger.info(
            "webhook events of an erased contact redacted",
            extra={"workspace_id": str(workspace_id), "redacted": redacted, "deleted": deleted},
        )
