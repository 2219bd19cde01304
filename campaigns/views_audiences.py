"""The Lists and Segments pages (/lists/, /segments/): browse, create, rename, delete; a list's
members (add by search, remove, import a file through the contacts import with `?list=`); the
segment builder, whose live count is an htmx fragment (`segment_count`). Thin: the services are
campaigns/audiences/lists.py and segments.py, the ones the API calls."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import get_scoped_or_404, scoped
from accounts.switcher import current_workspace, user_workspaces
from config.errors import ApplicationError

from .audiences import lists as list_services
from .audiences.rules import ENGAGEMENTS
from .audiences.segment_form import rows_from_rules, rules_from_form
from .audiences.segments import segment_create, segment_delete, segment_preview, segment_update
from .models import Segment

PAGE_SIZE = 50


def _workspace_choice(request):
    chosen = request.POST.get("workspace", "") or request.GET.get("workspace", "")
    found = next((w for w in user_workspaces(request) if str(w.pk) == chosen), None)
    return found or current_workspace(request)


def _int(value) -> int | None:
    return int(value) if value and str(value).isdigit() and len(str(value)) < 19 else None


# --- lists -----------------------------------------------------------------------------------


@login_required
def list_index(request):
    if request.method == "POST":
        workspace = _workspace_choice(request)
        if workspace is None:
            messages.error(request, "Choose the workspace the list belongs to.")
            return redirect("list_index")
        try:
            created = list_services.contact_list_create(
                user=request.user,
                workspace=workspace,
                name=request.POST.get("name", "")[:300],
                description=request.POST.get("description", "")[:5000],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("list_index")
        return redirect("list_detail", list_id=created.pk)
    workspace = current_workspace(request)
    lists = list_services.contact_lists_for_user(
        user=request.user, workspace_id=workspace.pk if workspace else None
    )
    return render(
        request,
        "audiences/list_index.html",
        {"lists": lists[:500], "several": len(user_workspaces(request)) > 1},
    )


@login_required
def list_detail(request, list_id):
    contact_list = list_services.contact_list_get_for_user(user=request.user, list_id=list_id)
    before = _int(request.GET.get("before"))
    members = list_services.list_members(contact_list=contact_list)
    if before:
        members = members.filter(id__lt=before)
    rows = list(members[: PAGE_SIZE + 1])
    q = request.GET.get("q", "").strip()[:100]
    found = (
        list(list_services.list_addable_contacts(contact_list=contact_list, search=q)[:50])
        if q
        else []
    )
    return render(
        request,
        "audiences/list_detail.html",
        {
            "contact_list": contact_list,
            "members": rows[:PAGE_SIZE],
            "older": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
            "paged": before is not None,
            "q": q,
            "found": found,
        },
    )


@login_required
@require_POST
def list_edit(request, list_id):
    contact_list = list_services.contact_list_get_for_user(user=request.user, list_id=list_id)
    try:
        list_services.contact_list_update(
            user=request.user,
            contact_list=contact_list,
            name=request.POST.get("name", "")[:300],
            description=request.POST.get("description", "")[:5000],
        )
        messages.success(request, "Saved.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("list_detail", list_id=contact_list.pk)


@login_required
@require_POST
def list_delete(request, list_id):
    contact_list = list_services.contact_list_get_for_user(user=request.user, list_id=list_id)
    list_services.contact_list_delete(user=request.user, contact_list=contact_list)
    messages.success(request, f"Deleted the list {contact_list.name}; its contacts stay.")
    return redirect("list_index")


@login_required
@require_POST
def list_members_change(request, list_id, change):
    if change not in ("add", "remove"):
        raise Http404
    contact_list = list_services.contact_list_get_for_user(user=request.user, list_id=list_id)
    ids = request.POST.getlist("contact")[: list_services.MAX_IDS]
    if not ids:
        messages.error(request, "Choose the contacts first.")
        return redirect("list_detail", list_id=contact_list.pk)
    try:
        if change == "add":
            n = list_services.list_members_add(
                user=request.user, contact_list=contact_list, contact_ids=ids
            )
            messages.success(request, f"Added {n} contact{'s' if n != 1 else ''}.")
        else:
            n = list_services.list_members_remove(
                user=request.user, contact_list=contact_list, contact_ids=ids
            )
            messages.success(request, f"Removed {n} contact{'s' if n != 1 else ''} from the list.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("list_detail", list_id=contact_list.pk)


# --- segments --------------------------------------------------------------------------------


@login_required
def segment_index(request):
    workspace = current_workspace(request)
    segments = scoped(Segment.objects.select_related("workspace"), user=request.user)
    if workspace is not None:
        segments = segments.filter(workspace=workspace)
    return render(
        request,
        "audiences/segment_index.html",
        {"segments": segments.order_by("name")[:500], "several": len(user_workspaces(request)) > 1},
    )


@login_required
def segment_builder(request, segment_id=None):
    """GET: the builder (a saved segment's rules as rows, or as JSON when they nest). POST:
    save (create or update) and come back; a refusal is shown beside the form."""
    segment = None
    if segment_id is not None:
        segment = get_scoped_or_404(Segment.objects.all(), user=request.user, pk=segment_id)
    workspace = segment.workspace if segment else _workspace_choice(request)
    rules = segment.rules if segment else {"all": []}
    name = segment.name if segment else ""
    error = None
    if request.method == "POST":
        name = request.POST.get("name", "")[:300]
        try:
            rules = rules_from_form(request.POST, workspace_id=workspace.pk if workspace else None)
            if segment is not None:
                segment_update(segment=segment, name=name, rules=rules)
            elif workspace is None:
                raise ApplicationError("Choose the workspace the segment belongs to.")
            else:
                segment = segment_create(workspace=workspace, name=name, rules=rules)
            messages.success(request, f"Saved the segment {segment.name}.")
            return redirect("segment_builder", segment_id=segment.pk)
        except ApplicationError as exc:
            error = exc.message
    return render(
        request,
        "audiences/segment_builder.html",
        _builder_context(request, segment, workspace, name, rules, error),
        status=400 if error else 200,
    )


def _builder_context(request, segment, workspace, name, rules, error) -> dict:
    rows, match = rows_from_rules(rules)
    lists = list_services.contact_lists_for_user(
        user=request.user, workspace_id=workspace.pk if workspace else None
    )
    return {
        "segment": segment,
        "workspace": workspace,
        "several": len(user_workspaces(request)) > 1 and segment is None,
        "name": name,
        "rows": (rows or []) + [{}] * 3,
        "match": match,
        "advanced": rows is None or request.POST.get("advanced") == "on",
        "rules_json": json.dumps(rules, indent=2),
        "error": error,
        "lists": lists[:200],
        "engagements": [*ENGAGEMENTS, "messaged"],
        "fields": FIELD_CHOICES,
    }


FIELD_CHOICES = [
    ("tag", "Tag"),
    ("attribute", "Attribute…"),
    ("name", "Name"),
    ("phone", "Phone"),
    ("locale", "Locale"),
    ("time_zone", "Time zone"),
    ("created_at", "Added"),
    ("last_messaged_at", "Last messaged"),
    ("last_replied_at", "Last replied"),
    ("opted_out", "Opted out"),
    ("list", "In list"),
    ("engagement", "Engagement"),
]


@login_required
@require_POST
def segment_count(request):
    """The builder's live count (htmx, on every change, debounced): the rules as the form has
    them now, counted in the chosen workspace; a malformed rule says which part."""
    segment_id = request.POST.get("segment", "")
    if segment_id:
        workspace_id = get_scoped_or_404(
            Segment.objects.all(), user=request.user, pk=segment_id
        ).workspace_id
    else:
        workspace = _workspace_choice(request)
        workspace_id = workspace.pk if workspace else None
    context: dict = {"preview": None, "error": None}
    if workspace_id is None:
        context["error"] = "Choose a workspace to count its contacts."
    else:
        try:
            rules = rules_from_form(request.POST, workspace_id=workspace_id)
            context["preview"] = segment_preview(workspace_id=workspace_id, rules=rules, limit=10)
        except ApplicationError as exc:  # RuleError among them: the path to the bad part
            context["error"] = exc.message
    return render(request, "audiences/_segment_count.html", context)


@login_required
@require_POST
def segment_delete_page(request, segment_id):
    segment = get_scoped_or_404(Segment.objects.all(), user=request.user, pk=segment_id)
    segment_delete(segment=segment)
    messages.success(request, f"Deleted the segment {segment.name}.")
    return redirect("segment_index")
