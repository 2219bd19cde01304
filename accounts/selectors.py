"""Reads that every view, API view and export uses to stay inside the caller's workspaces."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, Workspace


def workspaces_for_user(*, user) -> QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user=user)


def workspace_ids_for_user(*, user) -> list:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).values_list("workspace_id", flat=True))


def scoped(queryset: QuerySet, *, user, field: str = "workspace") -> QuerySet:
    """Restrict any workspace-owned queryset to the user's workspaces."""
    return queryset.filter(**{f"{field}__in": workspace_ids_for_user(user=user)})


def get_scoped_or_404(queryset: QuerySet, *, user, field: str = "workspace", **lookup):
    """One row of the user's workspaces; anyone else gets the same 404 as a missing row."""
    try:
        return scoped(queryset, user=user, field=field).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError):
        # ValueError: a malformed UUID in the URL is "not found", not a server error.
        raise Http404 from None


def default_workspace_for_user(*, user) -> Workspace | None:
    """The workspace a request acts in when it names none: the user's only one, or None."""
    workspaces = list(workspaces_for_user(user=user)[:2])
    return workspaces[0] if len(workspaces) == 1 else None


def membership_role_for_user(*, user, workspace_id) -> str | None:
    """The user's role (Membership.Role) in the workspace, or None if not a member (or the id
    is not a workspace id at all)."""
    if not user.is_authenticated:
        return None
    try:
        return (
            Membership.objects.filter(user=user, workspace_id=workspace_id)
            .values_list("role", flat=True)
            .first()
        )
    except (ValueError, ValidationError):
        return None  # a malformed id: not a workspace of theirs


def owned_workspace_ids_for_user(*, user) -> set:
    """The ids of the workspaces the user owns (where the dashboard shows the managing forms)."""
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(user=user, role=Membership.Role.OWNER).values_list(
            "workspace_id", flat=True
        )
    )
