"""`contact_erase`: forget a person (docs/audiences.md §7, erasure), in one transaction.

What goes: the contact and its list memberships; in every campaign of the workspace, the
recipient's values and number (replaced by a placeholder unique per campaign, `erased-<id>`
in base 36), its error details and its link to the contact; the number in the pending
statuses' payloads; the number as a value of the import reports' rejected rows; the
number's opt-ins; and, through `contact_erased`, the raw webhook events that name it (the
webhooks app owns them and redacts them: `webhooks/services/contact_erase.py`).

What stays: each recipient's status, times, wamid, error code and title, so the campaign
counters, statistics and timeline still equal a recount; a recipient not yet sent (pending)
is skipped (`erased`), counted as such, so that nothing is ever sent to the placeholder. The
opt-out entry stays too: the law requires not messaging someone who asked not to be
messaged, and the list is how every import and send knows (a phone number on a do-not-contact
list, kept for that purpose only).
"""

from __future__ import annotations

import logging
from collections import Counter

from django.db import transaction
from django.dispatch import Signal

from ..models import (
    Campaign,
    Contact,
    ContactImportRejection,
    ImportRejection,
    OptIn,
    PendingStatus,
    Recipient,
)
from ..tracking.counters import counters_apply
from .contacts import _require_member

logger = logging.getLogger(__name__)

ERASED_PREFIX = "erased-"
ERASED_VALUE = "(erased)"
SKIP_ERASED = "erased"

# Sent inside the erase's transaction with `workspace_id` and `phone` (E.164): an app above
# campaigns in the graph (docs/architecture.md §2) that keeps the number forgets it too.
contact_erased = Signal()

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def erased_phone(recipient_id: int) -> str:
    """`erased-` and the id in base 36: at most 20 characters (an id up to 2**63 has 13 base-36
    digits), unique per campaign because the id is unique."""
    digits = ""
    n = recipient_id
    while True:
        n, r = divmod(n, 36)
        digits = _DIGITS[r] + digits
        if not n:
            return ERASED_PREFIX + digits


def contact_erase(*, user, contact: Contact) -> dict:
    """Erase the contact and the person's data in the workspace; returns what was done (counts
    for the log and the API's answer)."""
    _require_member(user=user, workspace_id=contact.workspace_id)
    workspace_id, phone = contact.workspace_id, contact.phone
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        recipients = _erase_recipients(workspace_id, phone, contact.pk)
        digits = phone.lstrip("+")
        pending = 0
        for status in PendingStatus.objects.filter(
            account__workspace_id=workspace_id, payload__recipient_id=digits
        ):
            status.payload = {**status.payload, "recipient_id": ""}
            status.save(update_fields=["payload"])
            pending += 1
        ImportRejection.objects.filter(
            report__campaign__workspace_id=workspace_id, value=phone
        ).update(value=ERASED_VALUE)
        ContactImportRejection.objects.filter(
            report__workspace_id=workspace_id, value=phone
        ).update(value=ERASED_VALUE)
        OptIn.objects.filter(workspace_id=workspace_id, phone=phone).delete()
        contact_erased.send(sender=Contact, workspace_id=workspace_id, phone=phone)
        contact.delete()  # its memberships go with it (CASCADE)
    result = {"recipients": recipients, "pending_statuses": pending}
    logger.info(
        "contact erased",
        extra={"workspace_id": str(workspace_id), "contact_id": contact.pk, **result},
    )
    return result


def _erase_recipients(workspace_id, phone: str, contact_id: int) -> int:
    """Every recipient of the number (or resolved from the contact) in the workspace's
    campaigns, locked in id order, anonymised; pending ones skipped and counted."""
    # A subquery, not a join: FOR UPDATE then locks the recipients only, not their campaigns
    # (which the engine updates all the time). (campaign, phone) is unique and indexed.
    campaigns = Campaign.objects.filter(workspace_id=workspace_id).values("id")
    mine = Recipient.objects.select_for_update().filter(campaign_id__in=campaigns)
    rows = list(mine.filter(phone=phone).values_list("id", "campaign_id", "status").order_by("id"))
    # Resolved from the contact under another number (the contact's phone was changed since).
    rows += (
        mine.filter(contact_id=contact_id)
        .exclude(phone=phone)
        .values_list("id", "campaign_id", "status")
        .order_by("id")
    )
    skipped: Counter = Counter()
    for recipient_id, campaign_id, status in rows:
        changes: dict[str, object] = {
            "phone": erased_phone(recipient_id),
            "values": {},
            "error_details": "",
            "contact_id": None,
        }
        if status == Recipient.Status.PENDING:
            changes.update(status=Recipient.Status.SKIPPED, skip_reason=SKIP_ERASED)
            skipped[campaign_id] += 1
        Recipient.objects.filter(pk=recipient_id).update(**changes)
    for campaign_id, n in skipped.items():
        counters_apply(
            campaign_id=campaign_id,
            deltas={Recipient.Status.PENDING: -n, Recipient.Status.SKIPPED: n},
        )
    return len(rows)
