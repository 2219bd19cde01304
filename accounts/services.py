"""Writes for workspaces and memberships."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from config.errors import Conflict

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
