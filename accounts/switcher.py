"""The dashboard's workspace switcher: for a user in several workspaces, the one the lists
show (kept in the session), or all of them.

Decision: the switcher filters what the dashboard *lists* (numbers, opt-outs) and is the
default workspace of what it *adds* (a connection, an opt-out); it never widens access — a
page about one row (`/numbers/<id>/`) still opens whichever of the user's workspaces the row
is in. "All workspaces" (no choice stored) is the default, and the only state for a user
with one workspace.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import Workspace
from .selectors import workspaces_for_user

SESSION_KEY = "workspace"


def user_workspaces(request) -> list[Workspace]:
    """The user's workspaces, read once per request."""
    cached = getattr(request, "_user_workspaces", None)
    if cached is None:
        cached = list(workspaces_for_user(user=request.user))
        request._user_workspaces = cached
    return cached


def current_workspace(request) -> Workspace | None:
    """The workspace the switcher chose, None for all of them. A stale choice (a workspace
    the user left) counts as none."""
    workspaces = user_workspaces(request)
    if len(workspaces) == 1:
        return workspaces[0]
    chosen = request.session.get(SESSION_KEY)
    return next((w for w in workspaces if str(w.pk) == chosen), None)


def workspaces(request) -> dict:
    """Context processor: what base.html's switcher shows."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    listed = user_workspaces(request)
    if len(listed) < 2:
        return {"workspaces": listed, "current_workspace": listed[0] if listed else None}
    return {"workspaces": listed, "current_workspace": current_workspace(request)}


@login_required
@require_POST
def workspace_switch(request):
    chosen = request.POST.get("workspace", "")
    if any(str(w.pk) == chosen for w in user_workspaces(request)):
        request.session[SESSION_KEY] = chosen
    else:
        request.session.pop(SESSION_KEY, None)  # "All workspaces", or not one of theirs
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = "/"
    return redirect(back)
