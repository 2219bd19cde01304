"""Static contact lists (docs/audiences.md §3): the reads scoped to the caller's workspaces and
the writes — create, rename, delete, add and remove members. Any member of a workspace manages
its lists, as its contacts (contacts.py). A file imported into a list is the contacts import
with `contact_list` set (contact_uploads.py)."""

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.selectors import get_scoped_or_404, scoped
from config.errors import Invalid

from ..models import Contact, ContactList, ContactListMember
from .contacts import _require_member

MAX_IDS = 10_000  # contact ids in one add or remove
MAX_ID = 2**63 - 1


# --- reads -----------------------------------------------------------------------------------


def contact_lists_for_user(*, user, workspace_id=None) -> QuerySet[ContactList]:
    """The lists of the user's workspaces (or one), by name, each with its `member_count`."""
    lists = scoped(ContactList.objects.select_related("workspace"), user=user)
    if workspace_id is not None:
        lists = lists.filter(workspace_id=workspace_id)
    return lists.annotate(member_count=Count("members")).order_by("name", "id")


def contact_list_get_for_user(*, user, list_id) -> ContactList:
    """One list of the user's workspaces, with `member_count`; 404 for anyone else and for a
    malformed id."""
    return get_scoped_or_404(contact_lists_for_user(user=user), user=user, pk=list_id)


def list_members(*, contact_list: ContactList) -> QuerySet[Contact]:
    """The list's contacts, newest first by id."""
    return Contact.objects.filter(
        workspace_id=contact_list.workspace_id, memberships__contact_list=contact_list
    ).order_by("-id")


def list_addable_contacts(*, contact_list: ContactList, search: str) -> QuerySet[Contact]:
    """The workspace's contacts whose name or phone contains `search` and that are not members
    yet (the dashboard's "add by search")."""
    contacts = Contact.objects.filter(workspace_id=contact_list.workspace_id).exclude(
        memberships__contact_list=contact_list
    )
    search = search.strip()[:100]
    digits = "".join(ch for ch in search if ch.isdigit())
    if digits and not any(ch.isalpha() for ch in search):
        return contacts.filter(phone__contains=digits).order_by("-id")
    return contacts.filter(name__icontains=search).order_by("-id")


# --- writes ----------------------------------------------------------------------------------


def contact_list_create(*, user, workspace, name: str, description: str = "") -> ContactList:
    _require_member(user=user, workspace_id=workspace.pk)
    contact_list = ContactList(workspace=workspace, name=name, description=description)
    _save_unique(contact_list)
    contact_list.member_count = 0  # type: ignore[attr-defined]
    return contact_list


def contact_list_update(
    *, user, contact_list: ContactList, name: str | None = None, description: str | None = None
) -> ContactList:
    _require_member(user=user, workspace_id=contact_list.workspace_id)
    if name is not None:
        contact_list.name = name
    if description is not None:
        contact_list.description = description
    _save_unique(contact_list)
    return contact_list


def contact_list_delete(*, user, contact_list: ContactList) -> None:
    """The list and its memberships; the contacts stay. A campaign's audience that named it
    no longer finds it (campaigns/audiences/mapping.py refuses an unknown list at send)."""
    _require_member(user=user, workspace_id=contact_list.workspace_id)
    contact_list.delete()


def list_members_add(*, user, contact_list: ContactList, contact_ids) -> int:
    """Add the contacts (ids of the list's workspace; any other is a 400 naming it); members
    already are left as they are. Returns how many joined."""
    _require_member(user=user, workspace_id=contact_list.workspace_id)
    ids = _workspace_contact_ids(contact_list, contact_ids)
    now = timezone.now()
    with transaction.atomic():
        already = ContactListMember.objects.filter(
            contact_list=contact_list, contact_id__in=ids
        ).count()
        ContactListMember.objects.bulk_create(
            [ContactListMember(contact_list=contact_list, contact_id=i, added_at=now) for i in ids],
            ignore_conflicts=True,  # contactlist_member_unique: a member stays one
            batch_size=2000,
        )
        ContactList.objects.filter(pk=contact_list.pk).update(updated_at=now)
    return len(ids) - already


def list_members_remove(*, user, contact_list: ContactList, contact_ids) -> int:
    """Take the contacts off the list (ids of the list's workspace; any other is a 400).
    Returns how many were members."""
    _require_member(user=user, workspace_id=contact_list.workspace_id)
    ids = _workspace_contact_ids(contact_list, contact_ids)
    with transaction.atomic():
        removed, _ = ContactListMember.objects.filter(
            contact_list=contact_list, contact_id__in=ids
        ).delete()
        ContactList.objects.filter(pk=contact_list.pk).update(updated_at=timezone.now())
    return removed


def _workspace_contact_ids(contact_list: ContactList, contact_ids) -> list[int]:
    if not isinstance(contact_ids, list) or not contact_ids:
        raise Invalid("A non-empty list of contact ids.", field="contacts")
    if len(contact_ids) > MAX_IDS:
        raise Invalid(f"At most {MAX_IDS:,} contact ids at once.", field="contacts")
    ids: list[int] = []
    malformed = []
    for raw in contact_ids:
        value = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if value is None and isinstance(raw, str) and raw.isdigit():
            value = int(raw)
        if value is None or not 0 < value <= MAX_ID:
            malformed.append(raw)
        else:
            ids.append(value)
    if malformed:
        shown = ", ".join(repr(v)[:30] for v in malformed[:10])
        raise Invalid(f"Not contact ids: {shown}.", field="contacts")
    ids = list(dict.fromkeys(ids))
    known = set(
        Contact.objects.filter(workspace_id=contact_list.workspace_id, id__in=ids).values_list(
            "id", flat=True
        )
    )
    unknown = [i for i in ids if i not in known]
    if unknown:
        shown = ", ".join(str(i) for i in unknown[:20]) + (" …" if len(unknown) > 20 else "")
        raise Invalid(f"Not contacts of this workspace: {shown}.", field="contacts")
    return ids


def _save_unique(contact_list: ContactList) -> None:
    contact_list.name = (contact_list.name or "").strip()
    if not contact_list.name:
        raise Invalid("A list needs a name.", field="name")
    if len(contact_list.name) > 200:
        raise Invalid("A list's name is at most 200 characters.", field="name")
    try:
        with transaction.atomic():
            contact_list.save()
    except IntegrityError:
        raise Invalid(f"A list named {contact_list.name!r} exists already.", field="name") from None
