"""A workspace's contacts (docs/audiences.md §1): the reads every page, API view and export
uses, and the writes: create, update, the subscription state, and (contact_erase.py) erase.

A contact's subscription state is the workspace's opt-out list, not a column: opted out when
its phone is on `OptOut` (that row's source and time), opted in otherwise (with the latest
`OptIn`'s time and way, if any). Changing it goes through the opt-out services, so an
operator's opt-out here is the same MANUAL entry the /opt-outs/ page makes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.models import Workspace
from accounts.selectors import (
    default_workspace_for_user,
    get_scoped_or_404,
    membership_role_for_user,
    scoped,
)
from config.errors import Conflict, Invalid, PermissionDenied

from ..importing.phones import normalize
from ..importing.readers import shown
from ..models import Contact, OptIn, OptOut
from ..services.optouts import optout_remove_by_user
from ..tracking.inbound import optout_add
from .contact_fields import (
    FieldProblem,
    clean_attributes,
    clean_locale,
    clean_name,
    clean_tags,
    clean_time_zone,
)
from .segments import has_tag

logger = logging.getLogger(__name__)

OPTED_IN, OPTED_OUT = "opted_in", "opted_out"
SUBSCRIPTIONS = (OPTED_IN, OPTED_OUT)
# Bigint primary keys: anything longer is no contact's id (and would overflow the lookup).
_MAX_ID = 2**63 - 1


class ContactExists(Conflict):
    code = "contact_exists"


class ContactInvalid(Invalid):
    code = "invalid_contact"


# --- reads -----------------------------------------------------------------------------------


def with_subscription(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """Annotates `optout_source`, `opted_out_at` (null: opted in), `opted_in_at`, `opted_in_by`
    from the opt-out list, one indexed lookup a row ((workspace, phone) is unique on both)."""
    optout = OptOut.objects.filter(workspace_id=OuterRef("workspace_id"), phone=OuterRef("phone"))
    optin = OptIn.objects.filter(
        workspace_id=OuterRef("workspace_id"), phone=OuterRef("phone")
    ).order_by("-opted_in_at")
    return contacts.annotate(
        optout_source=Subquery(optout.values("source")[:1]),
        opted_out_at=Subquery(optout.values("opted_out_at")[:1]),
        opted_in_at=Subquery(optin.values("opted_in_at")[:1]),
        opted_in_by=Subquery(optin.values("by")[:1]),
    )


def subscription_of(contact: Contact) -> dict:
    """The state as the API and the pages show it (from `with_subscription`'s annotations)."""
    opted_out_at = getattr(contact, "opted_out_at", None)
    if opted_out_at is not None:
        source = getattr(contact, "optout_source", "")
        return {"state": OPTED_OUT, "source": source, "at": opted_out_at}
    at = getattr(contact, "opted_in_at", None)
    return {"state": OPTED_IN, "source": getattr(contact, "opted_in_by", None) or "", "at": at}


def contact_get_for_user(*, user, contact_id) -> Contact:
    """One contact of the user's workspaces (with its subscription); 404 for anyone else and
    for an id that is not a contact id at all."""
    try:
        pk = int(str(contact_id))
    except ValueError:
        raise Http404 from None
    if not 0 < pk <= _MAX_ID:
        raise Http404
    return get_scoped_or_404(
        with_subscription(Contact.objects.select_related("workspace")), user=user, pk=pk
    )


def contact_list(
    *,
    user,
    workspace_id=None,
    search: str = "",
    tag: str = "",
    attribute: tuple[str, str] | None = None,
    opted_out: bool | None = None,
    messaged_before: datetime | None = None,
    messaged_after: datetime | None = None,
    before_id: int | None = None,
    after_id: int | None = None,
) -> QuerySet[Contact]:
    """The contacts of the user's workspaces (or one), newest first by id (keyset pages with
    `before_id` / `after_id`, oldest first for `after_id`). `search`: a name containing it, or
    a phone containing its digits; `tag`: contacts with that tag; `attribute`: (key, value),
    the value compared as text."""
    qs = with_subscription(scoped(Contact.objects.select_related("workspace"), user=user))
    if workspace_id is not None:
        qs = qs.filter(workspace_id=workspace_id)
    search = search.strip()
    if search:
        digits = "".join(ch for ch in search if ch.isdigit())
        match = Q(name__icontains=search)
        if digits and not any(ch.isalpha() for ch in search):
            match |= Q(phone__contains=digits)
        qs = qs.filter(match)
    if tag:
        # JSON containment: the GIN index on PostgreSQL; SQLite has its own JSON functions.
        qs = qs.filter(has_tag(tag.strip().lower()))
    if attribute is not None:
        key, value = attribute
        qs = qs.filter(**{f"attributes__{key}": value})
    if opted_out is not None:
        on_list = Exists(
            OptOut.objects.filter(workspace_id=OuterRef("workspace_id"), phone=OuterRef("phone"))
        )
        qs = qs.filter(on_list if opted_out else ~on_list)
    if messaged_before is not None:
        qs = qs.filter(last_messaged_at__lt=messaged_before)
    if messaged_after is not None:
        qs = qs.filter(last_messaged_at__gt=messaged_after)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    if after_id is not None:
        return qs.filter(id__gt=after_id).order_by("id")
    return qs.order_by("-id")


def contact_workspace_for_user(*, user, workspace_id=None) -> Workspace:
    """The workspace a create or an import acts in: the one named (a member's), else the
    user's only one. Not a member of the one named: 404, as for one that does not exist."""
    if workspace_id in (None, ""):
        workspace = default_workspace_for_user(user=user)
        if workspace is None:
            raise ContactInvalid("Name the workspace: you are in several.", field="workspace")
        return workspace
    if membership_role_for_user(user=user, workspace_id=workspace_id) is None:
        raise Http404
    return Workspace.objects.get(pk=workspace_id)


def _require_member(*, user, workspace_id) -> None:
    # Any member manages contacts, as the opt-out list (services/optouts.py): they are the
    # people a campaign is sent to, not the workspace's connections.
    if membership_role_for_user(user=user, workspace_id=workspace_id) is None:
        raise PermissionDenied("You are not a member of this workspace.")


# --- writes ----------------------------------------------------------------------------------


def phone_or_invalid(phone: str, country_code: str = "") -> str:
    e164, reason = normalize(country_code or None, phone or "")
    if e164 is None:
        raise ContactInvalid(f"{shown(phone) or 'The number'}: {reason}.", field="phone")
    return e164


def _cleaned(fields: dict) -> dict:
    """The writable fields of `fields`, checked (ContactInvalid names the field at fault)."""
    cleaners = {
        "name": clean_name,
        "tags": clean_tags,
        "attributes": clean_attributes,
        "locale": clean_locale,
        "time_zone": clean_time_zone,
    }
    clean = {}
    for name, value in fields.items():
        try:
            clean[name] = cleaners[name](value if value is not None or name == "tags" else "")
        except FieldProblem as exc:
            raise ContactInvalid(str(exc), field=name) from None
    return clean


def contact_create(
    *, user, workspace: Workspace, phone: str, country_code: str = "", **fields
) -> Contact:
    """A new contact; a phone already a contact of the workspace is a 409 naming it."""
    _require_member(user=user, workspace_id=workspace.pk)
    e164 = phone_or_invalid(phone, country_code)
    data = _cleaned(fields)
    data["attributes"] = {k: v for k, v in data.get("attributes", {}).items() if v is not None}
    try:
        with transaction.atomic():
            contact = Contact.objects.create(workspace=workspace, phone=e164, **data)
    except IntegrityError:
        raise ContactExists(f"{e164} is already a contact of this workspace.") from None
    logger.info(
        "contact created", extra={"workspace_id": str(workspace.pk), "contact_id": contact.pk}
    )
    return contact_get_for_user(user=user, contact_id=contact.pk)


def contact_update(*, user, contact: Contact, subscription: str | None = None, **fields) -> Contact:
    """Change some fields. `attributes` merges into the stored ones (a null value removes the
    key); `tags` replaces the list. `subscription`: opted_out / opted_in, on the opt-out
    list."""
    _require_member(user=user, workspace_id=contact.workspace_id)
    data = _cleaned(fields)
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if "attributes" in data:
            merged = {**locked.attributes, **data.pop("attributes")}
            locked.attributes = {k: v for k, v in merged.items() if v is not None}
        for name, value in data.items():
            setattr(locked, name, value)
        locked.updated_at = timezone.now()
        locked.save()
    if subscription is not None:
        contact_subscription_set(user=user, contact=locked, state=subscription)
    return contact_get_for_user(user=user, contact_id=contact.pk)


def contact_subscription_set(*, user, contact: Contact, state: str) -> None:
    """Opt the contact out (a MANUAL opt-out, as the /opt-outs/ page adds) or back in (its
    opt-out removed, with the opt-in that keeps a late copy of it from coming back)."""
    _require_member(user=user, workspace_id=contact.workspace_id)
    if state not in SUBSCRIPTIONS:
        raise ContactInvalid("subscription is opted_in or opted_out.", field="subscription")
    if state == OPTED_OUT:
        optout_add(
            workspace_id=contact.workspace_id,
            phone=contact.phone,
            source=OptOut.Source.MANUAL,
            detail=f"Opted out on the contact by {user.get_username()}"[:500],
        )
        return
    entry = OptOut.objects.filter(workspace_id=contact.workspace_id, phone=contact.phone).first()
    if entry is not None:
        optout_remove_by_user(user=user, optout_id=entry.pk)
