"""What a workspace role allows in the API (docs/api.md, "Roles"): every member reads and runs
campaigns and templates; only an owner may write the resources guarded here."""

from collections.abc import Mapping

from rest_framework.permissions import SAFE_METHODS, BasePermission

from config.errors import PermissionDenied

from .models import Membership
from .selectors import default_workspace_for_user, membership_role_for_user


class IsWorkspaceOwnerForWrites(BasePermission):
    """Reads for every member of the object's workspace; writes (create, update, delete) for
    its owners only. For a create, the workspace is the one the body names (`workspace`), or
    the caller's only one.

    A member is refused with 403 `permission_denied`, not 404: they can see the object.
    Anyone who is not a member at all is left to the view, whose workspace-scoped lookup
    answers 404 as for a missing object (and a create naming no workspace of theirs, 404 or
    400 as the view decides). The refusal is the services' own `PermissionDenied`, so the body
    is the same `{"detail", "code"}` whether the permission or a service says no."""

    message = "Only a workspace owner can manage WhatsApp connections."
    workspace_field = "workspace"

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS or not request.user.is_authenticated:
            return True  # reads for all; IsAuthenticated answers the anonymous
        if view.kwargs:
            return True  # an object's URL: has_object_permission, once the view finds it
        data = request.data if isinstance(request.data, Mapping) else {}
        workspace_id = data.get(self.workspace_field)
        if workspace_id is None:
            workspace = default_workspace_for_user(user=request.user)
            workspace_id = workspace.pk if workspace is not None else None
        if workspace_id is None:
            return True  # no workspace to act in: the view says which to name (400)
        self._require_owner(request.user, workspace_id)
        return True

    def has_object_permission(self, request, view, obj):
        if request.method not in SAFE_METHODS:
            self._require_owner(request.user, obj.workspace_id)
        return True

    def _require_owner(self, user, workspace_id) -> None:
        if membership_role_for_user(user=user, workspace_id=workspace_id) == (
            Membership.Role.MEMBER
        ):
            raise PermissionDenied(self.message)
