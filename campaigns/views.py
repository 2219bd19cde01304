"""Dashboard pages (server-rendered, session auth). Thin: each action calls the same service
the API calls, and shows what it refuses as a message (config/web.py)."""

import os
import re
import tempfile
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.switcher import current_workspace
from config.errors import ApplicationError
from config.web import shown_as_message
from templates_app.selectors import template_list_for_user
from whatsapp.preview import render_preview
from whatsapp.variables import spreadsheet_columns, variables_for

from .audiences.mapping import FIELDS
from .forms import NewCampaignForm
from .forms_numbers import pool_key
from .importing.pipeline import SHOWN_MESSAGES, SHOWN_PROBLEMS, import_progress
from .models import Campaign, ImportReport
from .selectors import campaign_funnel, campaign_get_for_user, campaign_list_for_user
from .services.campaigns import campaign_create
from .services.imports import import_upload

PREVIEW_SESSION_KEY = "import_preview"


@login_required
def campaign_list(request):
    status = request.GET.get("status") or ""
    if status not in Campaign.Status.values:
        status = ""
    search = (request.GET.get("q") or "").strip()[:100]
    campaigns = campaign_list_for_user(user=request.user, status=status or None)
    workspace = current_workspace(request)  # the switcher's choice, or None for all
    if workspace is not None:
        campaigns = campaigns.filter(workspace=workspace)
    if search:
        campaigns = campaigns.filter(name__icontains=search)
    page = Paginator(campaigns.order_by("-created_at", "-id"), 25).get_page(request.GET.get("page"))
    rows = [(c, campaign_funnel(c)) for c in page.object_list]
    query = {k: v for k, v in (("status", status), ("q", search)) if v}
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "q": search,
            "statuses": Campaign.Status.choices,
            "query": urlencode(query),
        },
    )


@login_required
def campaign_new(request):
    templates = template_list_for_user(user=request.user, status="APPROVED").filter(
        removed_upstream_at__isnull=True
    )
    workspace = current_workspace(request)
    if workspace is not None:
        templates = templates.filter(workspace=workspace)
    form = NewCampaignForm(request.POST or None, templates=templates)
    if request.method == "POST" and form.is_valid():
        try:  # one transaction: an audience or mapping refused leaves no draft behind
            campaign, _ = campaign_create(user=request.user, **form.create_kwargs())
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            if form.chooses_audience:
                messages.success(request, "Draft created with its audience: check the preview.")
                return redirect("campaign_audience", campaign_id=campaign.pk)
            messages.success(request, "Draft created. Now add its recipients.")
            return redirect("campaign_detail", campaign_id=campaign.pk)
    return render(
        request,
        "campaigns/campaign_new.html",
        {
            "form": form,
            "previews": [(pk, _template_preview(t)) for pk, t in form.templates.items()],
            "audiences": form.audience_blocks(),
            "mappings": form.mapping_blocks(),
            "fields": FIELDS,
        },
    )


_PLACEHOLDER = re.compile(r"\{\{\s*[A-Za-z0-9_]+\s*\}\}")


def _marked(text: str | None) -> str:
    """Text with each {{variable}} highlighted, everything else escaped."""
    if not text:
        return ""
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(text):
        parts += [escape(text[last : match.start()]), f"<mark>{escape(match.group())}</mark>"]
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308  (every part escaped above)


def _template_preview(template) -> dict:
    """The message as the recipient will see it, its variables marked where they go."""
    shown = render_preview(
        components=template.components, parameter_format=template.parameter_format, values={}
    )
    return {
        **shown,
        "template": template,
        "pool": pool_key(template.account),  # the numbers it can also send from (pool.js)
        "header": _marked(shown["header"]),
        "body": _marked(shown["body"]),
        "columns": spreadsheet_columns(variables_for(template)),
    }


@login_required
@require_POST
def campaign_upload(request, campaign_id):
    """Step 1: validate the file (dry run) and show the report; the file waits for step 2."""
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a CSV or XLSX file first.")
        return redirect("campaign_detail", campaign_id=campaign.pk)
    # Kept for the confirm step (reading the upload may close it, so store it first).
    stored = default_storage.save(
        f"previews/{uuid.uuid4().hex}{os.path.splitext(upload.name)[1]}", upload
    )
    # Every row the check refuses, as a file the preview offers (a dry run stores none).
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as problems,
        shown_as_message(request) as shown,
        default_storage.open(stored, "rb") as f,
    ):
        report = import_upload(
            campaign=campaign,
            user=request.user,
            upload=File(f, name=upload.name),
            dry_run=True,
            problems_to=problems,
        )
        not_imported = report.rejected + report.skipped_duplicate + report.skipped_opted_out
        problems_file = None
        if not shown.error and not_imported:
            problems.seek(0)
            problems_file = default_storage.save(
                f"previews/{uuid.uuid4().hex}-not-imported.csv",
                ContentFile(("\ufeff" + problems.read()).encode("utf-8")),
            )
    if shown.error:
        default_storage.delete(stored)
        return redirect("campaign_detail", campaign_id=campaign.pk)
    _forget_preview(request)
    queued = report.status == ImportReport.Status.QUEUED
    request.session[PREVIEW_SESSION_KEY] = {
        "campaign": str(campaign.pk),
        "stored": stored,
        "name": upload.name,
        # A large file is checked in the background: the page shows the check's report
        # once it is done (see preview_for_page), and only then offers the import.
        "queued": queued,
        "report_id": str(report.pk) if queued else None,
        "report": _summary(report),
        "problems": None if queued else problems_file,
    }
    return redirect("campaign_detail", campaign_id=campaign.pk)


@login_required
def campaign_upload_problems(request, campaign_id):
    """The preview's every row not imported (line, kind, column, reason, value), as CSV."""
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    preview = request.session.get(PREVIEW_SESSION_KEY) or {}
    if preview.get("campaign") != str(campaign.pk) or not preview.get("problems"):
        raise Http404("No preview with rows left out.")
    name = os.path.splitext(os.path.basename(preview["name"]))[0][:80] or "upload"
    response = FileResponse(
        default_storage.open(preview["problems"], "rb"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-not-imported.csv"'
    return response


def _summary(report: ImportReport) -> dict:
    return {
        "rows_read": report.rows_read,
        "imported": report.imported,
        "rejected": report.rejected,
        "skipped_duplicate": report.skipped_duplicate,
        "skipped_opted_out": report.skipped_opted_out,
        "warnings": report.warnings,
        "rejected_rows": report.rejected_sample[:SHOWN_PROBLEMS],
        "preview": report.preview[:SHOWN_MESSAGES],
    }


def preview_for_page(request, campaign) -> dict | None:
    """The pending preview of this campaign; a background check's result once it is known
    (kept in the session), its progress while it runs."""
    preview = request.session.get(PREVIEW_SESSION_KEY)
    if not preview or preview.get("campaign") != str(campaign.pk):
        return None
    if not preview.get("queued"):
        return preview
    report = campaign.imports.filter(pk=preview.get("report_id")).first()
    if report is None or report.status == ImportReport.Status.FAILED:
        error = report.error if report is not None else "The check of the file was lost."
        return {**preview, "queued": False, "error": error or "The file could not be checked."}
    if report.status == ImportReport.Status.COMPLETED:
        preview = {**preview, "queued": False, "report": _summary(report)}
        request.session[PREVIEW_SESSION_KEY] = preview
        return preview
    # Still running: what it found so far (its first screen within a moment of the upload).
    snapshot = import_progress(report.pk)
    if snapshot is None:
        return {**preview, "checking": True, "progress": 0}
    return {**preview, "checking": True, "progress": snapshot["rows_read"], "report": snapshot}


@login_required
def campaign_upload_preview(request, campaign_id):
    """The preview's fragment, polled while a large file is checked in the background."""
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    preview = preview_for_page(request, campaign)
    if preview is None:
        raise Http404("No preview.")
    return render(request, "campaigns/_preview.html", {"campaign": campaign, "preview": preview})


@login_required
@require_POST
def campaign_upload_confirm(request, campaign_id):
    """Step 2: import the previewed file for real."""
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    preview = request.session.get(PREVIEW_SESSION_KEY)
    if not preview or preview["campaign"] != str(campaign.pk):
        messages.error(request, "Nothing to confirm: upload the file again.")
        return redirect("campaign_detail", campaign_id=campaign.pk)
    with shown_as_message(request), default_storage.open(preview["stored"], "rb") as f:
        report = import_upload(
            campaign=campaign, user=request.user, upload=File(f, name=preview["name"])
        )
        if report.status == ImportReport.Status.QUEUED:
            messages.success(request, "The file is being imported; the figures update below.")
        else:
            messages.success(request, f"Imported {report.imported} recipients.")
    _forget_preview(request)
    return redirect("campaign_detail", campaign_id=campaign.pk)


@login_required
@require_POST
def campaign_upload_cancel(request, campaign_id):
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    _forget_preview(request)
    return redirect("campaign_detail", campaign_id=campaign.pk)


def _forget_preview(request):
    preview = request.session.pop(PREVIEW_SESSION_KEY, None)
    if preview:
        default_storage.delete(preview["stored"])
        if preview.get("problems"):
            default_storage.delete(preview["problems"])
