"""Writes for workspaces and memberships."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from config.errors import Conflict, Invalid, PermissionDenied

from .models import Membership, Workspace


class BootstrapClash(Conflict):
    """The requested user exists with a different password, or in another role."""

    code = "bootstrap_clash"


@dataclass
class BootstrapResult:
    user: object
    workspace: Workspace
    created_user: bool
    created_workspace: bool
    created_membership: bool

    @property
    def changed(self) -> bool:
        return self.created_user or self.created_workspace or self.created_membership


@transaction.atomic
def workspace_bootstrap(
    *, workspace_name: str, username: str, password: str, superuser: bool = False
) -> BootstrapResult:
    """Create (idempotently) a user, a workspace and the user's owner membership.

    Running it again with the same arguments changes nothing. An existing user whose password
    differs is a clash: we never silently reset someone's password.
    """
    User = get_user_model()
    existing = User.objects.filter(username=username).first()
    created_user = existing is None
    if existing is None:
        user = User.objects.create_user(username=username, password=password)
    elif existing.check_password(password):
        user = existing
    else:
        raise BootstrapClash(
            f"user {username!r} already exists with a different password; "
            "choose another username or use `manage.py changepassword`."
        )
    if superuser and not (user.is_superuser and user.is_staff):
        user.is_superuser = user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])

    workspace, created_workspace = Workspace.objects.get_or_create(name=workspace_name)
    membership = Membership.objects.filter(user=user, workspace=workspace).first()
    created_membership = membership is None
    if created_membership:
        if not created_workspace and workspace.memberships.exists():
            # The workspace belongs to other people: joining it is not a bootstrap's job.
            raise BootstrapClash(
                f"workspace {workspace_name!r} already exists and {username!r} is not a member."
            )
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
    return BootstrapResult(user, workspace, created_user, created_workspace, created_membership)


CAP_CATEGORIES = ("marketing", "utility", "authentication")
CAP_MESSAGES_RANGE = (1, 1000)
CAP_HOURS_RANGE = (1, 720)


class FrequencyCapInvalid(Invalid):
    """A frequency cap that cannot be stored; `field` names the entry at fault."""


def _cap_number(category: str, key: str, value, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FrequencyCapInvalid(
            f"{category}.{key} must be a whole number from {low} to {high}.",
            field=f"frequency_cap.{category}.{key}",
        )
    return value


def frequency_cap_clean(value) -> dict | None:
    """{"marketing": {"messages": 1, "per_hours": 24}, …} as stored; None (or {}): no cap.
    A category left out (or null) is not capped."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FrequencyCapInvalid(
            'frequency_cap must be an object, e.g. {"marketing": {"messages": 1, '
            '"per_hours": 24}}, or null.',
            field="frequency_cap",
        )
    cleaned = {}
    for category, rule in value.items():
        if category not in CAP_CATEGORIES:
            raise FrequencyCapInvalid(
                f"Unknown category {str(category)[:40]!r}; one of {', '.join(CAP_CATEGORIES)}.",
                field=f"frequency_cap.{str(category)[:40]}",
            )
        if rule is None:
            continue
        if not isinstance(rule, dict) or set(rule) != {"messages", "per_hours"}:
            raise FrequencyCapInvalid(
                f'{category} must be {{"messages": n, "per_hours": h}} or null.',
                field=f"frequency_cap.{category}",
            )
        cleaned[category] = {
            "messages": _cap_number(category, "messages", rule["messages"], CAP_MESSAGES_RANGE),
            "per_hours": _cap_number(category, "per_hours", rule["per_hours"], CAP_HOURS_RANGE),
        }
    return cleaned or None


@transaction.atomic
def workspace_frequency_cap_set(*, user, workspace: Workspace, frequency_cap) -> Workspace:
    """The workspace's cross-campaign frequency cap (docs/audiences.md §6); owners only."""
    role = (
        Membership.objects.filter(user=user, workspace=workspace).values_list("role", flat=True)
    ).first()
    if role != Membership.Role.OWNER:
        raise PermissionDenied("Only a workspace owner can change the frequency cap.")
    workspace.frequency_cap = frequency_cap_clean(frequency_cap)
    workspace.save(update_fields=["frequency_cap"])
    return workspace
