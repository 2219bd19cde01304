"""The contacts pages (/contacts/): browse, search and filter, import with a preview (the
campaign upload's flow: a dry run first, then the import), export, and a contact's page with
its subscription and erasure. Thin: the services are campaigns/audiences/, the same the API
calls. Any member of a workspace may manage its contacts."""

import os
import tempfile
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.switcher import current_workspace, user_workspaces
from config.web import shown_as_message

from .api_reports import download_response
from .audiences.contact_erase import contact_erase
from .audiences.contact_export import contacts_export
from .audiences.contact_import import SHOWN_PROBLEMS, contact_import_progress
from .audiences.contact_uploads import contacts_import_upload
from .audiences.contacts import (
    OPTED_IN,
    OPTED_OUT,
    contact_get_for_user,
    contact_list,
    contact_subscription_set,
    subscription_of,
)
from .models import ContactImport

PAGE_SIZE = 50
PREVIEW_KEY = "contact_import_preview"


def _int(value) -> int | None:
    try:
        number = int(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is None or 0 < number < 2**63 else None


def _filtered(request):
    workspace = current_workspace(request)
    q = request.GET.get("q", "").strip()[:100]
    tag = request.GET.get("tag", "").strip()[:64]
    state = request.GET.get("subscription", "")
    opted_out = {OPTED_OUT: True, OPTED_IN: False}.get(state)
    filters = {"q": q, "tag": tag, "subscription": state if opted_out is not None else ""}
    contacts = contact_list(
        user=request.user,
        workspace_id=workspace.pk if workspace else None,
        search=q,
        tag=tag,
        opted_out=opted_out,
        before_id=_int(request.GET.get("before")),
        after_id=None if request.GET.get("before") else _int(request.GET.get("after")),
    )
    return contacts, filters


@login_required
def contact_list_page(request):
    contacts, filters = _filtered(request)
    before, after = _int(request.GET.get("before")), _int(request.GET.get("after"))
    rows = list(contacts[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if after is not None and before is None:
        rows.reverse()
        newer, older = more, bool(rows)
    else:
        newer, older = before is not None, more
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return render(
        request,
        "contacts/contact_list.html",
        {
            "rows": [(c, subscription_of(c)) for c in rows],
            "filters": filters,
            "query": query,
            "newer": rows[0].pk if newer and rows else None,
            "older": rows[-1].pk if older and rows else None,
            "workspaces": user_workspaces(request),
            "chosen": current_workspace(request),
            "preview": _preview_for_page(request),
            "modes": ContactImport.Mode.choices,
        },
    )


def _workspace_choice(request):
    chosen = request.POST.get("workspace", "")
    workspaces = user_workspaces(request)
    found = next((w for w in workspaces if str(w.pk) == chosen), None)
    if found is None and len(workspaces) == 1:
        return workspaces[0]
    return found or current_workspace(request)


@login_required
@require_POST
def contact_import_page(request):
    """Step 1: check the file (a dry run) and show what it would do; the file waits."""
    upload = request.FILES.get("file")
    workspace = _workspace_choice(request)
    mode = request.POST.get("mode") or ContactImport.Mode.UPSERT
    if upload is None or workspace is None:
        messages.error(request, "Choose a CSV or XLSX file and the workspace it is for.")
        return redirect("contact_list")
    stored = default_storage.save(
        f"previews/{uuid.uuid4().hex}{os.path.splitext(upload.name)[1]}", upload
    )
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as problems,
        shown_as_message(request) as shown,
        default_storage.open(stored, "rb") as f,
    ):
        report = contacts_import_upload(
            user=request.user,
            workspace=workspace,
            upload=File(f, name=upload.name),
            mode=mode,
            dry_run=True,
            problems_to=problems,
        )
        problems_file = None
        if not shown.error and report.rejected + report.skipped_duplicate:
            problems.seek(0)
            problems_file = default_storage.save(
                f"previews/{uuid.uuid4().hex}-not-imported.csv",
                ContentFile(("\ufeff" + problems.read()).encode("utf-8")),
            )
    if shown.error:
        default_storage.delete(stored)
        return redirect("contact_list")
    _forget_preview(request)
    queued = report.status == ContactImport.Status.QUEUED
    request.session[PREVIEW_KEY] = {
        "workspace": str(workspace.pk),
        "mode": mode,
        "stored": stored,
        "name": upload.name,
        "queued": queued,
        "report_id": str(report.pk) if queued else None,
        "report": None if queued else _summary(report),
        "problems": problems_file,
    }
    return redirect("contact_list")


def _summary(report: ContactImport) -> dict:
    return {
        "rows_read": report.rows_read,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "skipped_duplicate": report.skipped_duplicate,
        "warnings": report.warnings,
        "rejected_rows": report.rejected_sample[:SHOWN_PROBLEMS],
    }


def _preview_for_page(request) -> dict | None:
    preview = request.session.get(PREVIEW_KEY)
    if not preview or not preview.get("queued"):
        return preview
    report = ContactImport.objects.filter(
        pk=preview["report_id"], workspace_id__in=[w.pk for w in user_workspaces(request)]
    ).first()
    if report is None or report.status == ContactImport.Status.FAILED:
        error = report.error if report is not None else "The check of the file was lost."
        return {**preview, "queued": False, "error": error or "The file could not be checked."}
    if report.status == ContactImport.Status.COMPLETED:
        preview = {**preview, "queued": False, "report": _summary(report)}
        request.session[PREVIEW_KEY] = preview
        return preview
    return {**preview, "report": contact_import_progress(report.pk)}


@login_required
def contact_import_preview(request):
    """The preview's fragment, polled while a large file is checked in the background."""
    preview = _preview_for_page(request)
    if preview is None:
        raise Http404("No preview.")
    return render(request, "contacts/_preview.html", {"preview": preview})


@login_required
def contact_import_problems(request):
    preview = request.session.get(PREVIEW_KEY) or {}
    if not preview.get("problems"):
        raise Http404("No preview with rows left out.")
    response = FileResponse(
        default_storage.open(preview["problems"], "rb"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="contacts-not-imported.csv"'
    return response


@login_required
@require_POST
def contact_import_confirm(request):
    """Step 2: import the previewed file for real."""
    preview = request.session.get(PREVIEW_KEY)
    workspace = next(
        (w for w in user_workspaces(request) if preview and str(w.pk) == preview["workspace"]),
        None,
    )
    if not preview or workspace is None:
        messages.error(request, "Nothing to confirm: upload the file again.")
        return redirect("contact_list")
    with shown_as_message(request), default_storage.open(preview["stored"], "rb") as f:
        report = contacts_import_upload(
            user=request.user,
            workspace=workspace,
            upload=File(f, name=preview["name"]),
            mode=preview["mode"],
        )
        if report.status == ContactImport.Status.QUEUED:
            messages.success(request, "The file is being imported in the background.")
        else:
            messages.success(
                request,
                f"Imported: {report.created} new, {report.updated} updated, "
                f"{report.unchanged} unchanged.",
            )
    _forget_preview(request)
    return redirect("contact_list")


@login_required
@require_POST
def contact_import_cancel(request):
    _forget_preview(request)
    return redirect("contact_list")


def _forget_preview(request):
    preview = request.session.pop(PREVIEW_KEY, None)
    if preview:
        default_storage.delete(preview["stored"])
        if preview.get("problems"):
            default_storage.delete(preview["problems"])


@login_required
def contact_export_page(request):
    contacts, _ = _filtered(request)
    with shown_as_message(request) as shown:
        download = contacts_export(contacts=contacts, fmt=request.GET.get("format", "csv"))
    if shown.error:
        return redirect("contact_list")
    return download_response(download)


@login_required
def contact_detail(request, contact_id):
    contact = contact_get_for_user(user=request.user, contact_id=contact_id)
    return render(
        request,
        "contacts/contact_detail.html",
        {"contact": contact, "subscription": subscription_of(contact)},
    )


@login_required
@require_POST
def contact_subscription(request, contact_id):
    contact = contact_get_for_user(user=request.user, contact_id=contact_id)
    state = request.POST.get("state", "")
    with shown_as_message(request) as shown:
        contact_subscription_set(user=request.user, contact=contact, state=state)
    if not shown.error:
        done = "opted out: nothing will be sent to it" if state == OPTED_OUT else "opted back in"
        messages.success(request, f"{contact.phone} is {done}.")
    return redirect("contact_detail", contact_id=contact.pk)


@login_required
def contact_erase_page(request, contact_id):
    """GET: ask first, saying what goes and what stays; POST: erase."""
    contact = contact_get_for_user(user=request.user, contact_id=contact_id)
    if request.method != "POST":
        return render(request, "contacts/contact_erase.html", {"contact": contact})
    with shown_as_message(request) as shown:
        contact_erase(user=request.user, contact=contact)
    if shown.error:
        return redirect("contact_detail", contact_id=contact.pk)
    messages.success(request, f"{contact.phone} was erased.")
    return redirect("contact_list")
