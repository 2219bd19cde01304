"""The opt-out list page (/opt-outs/): browse and search, add, remove, import, export. Thin:
the writes are campaigns/services/optouts.py, the reads campaigns/selectors.py, the export
campaigns/exports.py (the API's). Owners and members alike may manage the list."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import get_scoped_or_404
from accounts.switcher import current_workspace, user_workspaces
from config.errors import ApplicationError
from config.web import shown_as_message

from .api_reports import download_response
from .exports import optouts_export
from .models import OptOut
from .selectors import optout_list_for_user
from .services.optouts import optout_add_by_user, optout_remove_by_user, optouts_import

PAGE_SIZE = 50
REPORT_SESSION_KEY = "optout_import_report"


class AddForm(forms.Form):
    phone = forms.CharField(max_length=40, label="Phone number")
    country_code = forms.CharField(
        max_length=6, required=False, label="Country code", help_text="if the number has no +"
    )
    detail = forms.CharField(max_length=500, required=False, label="Note")


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _workspace_choice(request):
    """The workspace an add or an import is for: the form's choice, else the switcher's."""
    chosen = request.POST.get("workspace", "")
    workspaces = user_workspaces(request)
    found = next((w for w in workspaces if str(w.pk) == chosen), None)
    return found or current_workspace(request)


@login_required
def optout_list(request, add_form=None, status=200):
    workspace = current_workspace(request)
    q = request.GET.get("q", "").strip()
    before, after = _int(request.GET.get("before")), _int(request.GET.get("after"))
    rows = list(
        optout_list_for_user(
            user=request.user,
            workspace_id=workspace.pk if workspace else None,
            phone=q,
            before=before,
            after=None if before is not None else after,
        )[: PAGE_SIZE + 1]
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if after is not None and before is None:
        rows.reverse()  # fetched oldest first, to find the page just newer than `after`
        newer, older = more, bool(rows)
    else:
        newer, older = before is not None, more
    report = request.session.pop(REPORT_SESSION_KEY, None)
    choice = _workspace_choice(request)
    return render(
        request,
        "optouts/optout_list.html",
        {
            "rows": rows,
            "q": q,
            "newer": rows[0].pk if newer and rows else None,
            "older": rows[-1].pk if older and rows else None,
            "paged": before is not None or after is not None,
            "several": len(user_workspaces(request)) > 1,
            "add_form": add_form or AddForm(),
            "chosen": str(choice.pk) if choice else "",
            "report": report,
            "sources": OptOut.Source,
        },
        status=status,
    )


@login_required
@require_POST
def optout_add(request):
    form = AddForm(request.POST)
    workspace = _workspace_choice(request)
    if not form.is_valid():
        messages.error(request, "Type the phone number to add.")
        return optout_list(request, add_form=form, status=400)
    if workspace is None:
        messages.error(request, "Choose the workspace whose list the number goes on.")
        return optout_list(request, add_form=form, status=400)
    try:
        phone, created = optout_add_by_user(
            user=request.user, workspace=workspace, **form.cleaned_data
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return optout_list(request, add_form=form, status=400)
    if created:
        messages.success(request, f"{phone} is on the opt-out list: nothing will be sent to it.")
    else:
        messages.info(request, f"{phone} was already on the opt-out list.")
    return redirect("optout_list")


@login_required
def optout_remove(request, optout_id):
    """GET: ask first (works without JavaScript); POST: take the number off the list."""
    opt_out = get_scoped_or_404(
        OptOut.objects.select_related("workspace"), user=request.user, id=optout_id
    )
    if request.method != "POST":
        return render(request, "optouts/optout_remove.html", {"opt_out": opt_out})
    with shown_as_message(request) as shown:
        optout_remove_by_user(user=request.user, optout_id=opt_out.pk)
    if not shown.error:
        messages.success(request, f"{opt_out.phone} is off the opt-out list.")
    return redirect("optout_list")


@login_required
@require_POST
def optout_import(request):
    upload = request.FILES.get("file")
    workspace = _workspace_choice(request)
    if upload is None:
        messages.error(request, "Choose a CSV or XLSX file first.")
    elif workspace is None:
        messages.error(request, "Choose the workspace whose list the numbers go on.")
    else:
        with shown_as_message(request):
            report = optouts_import(
                user=request.user, workspace=workspace, upload=upload, filename=upload.name
            )
            request.session[REPORT_SESSION_KEY] = {**report.as_dict(), "name": upload.name}
    return redirect("optout_list")


@login_required
def optout_export(request):
    workspace = current_workspace(request)
    opt_outs = optout_list_for_user(
        user=request.user,
        workspace_id=workspace.pk if workspace else None,
        phone=request.GET.get("q", ""),
    )
    with shown_as_message(request) as shown:
        download = optouts_export(opt_outs=opt_outs, fmt=request.GET.get("format", "csv"))
    if shown.error:
        return redirect("optout_list")
    return download_response(download)
