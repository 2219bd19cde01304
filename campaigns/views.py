"""Dashboard pages (server-rendered, session auth). Thin: each action calls the same service
the API calls, and shows what it refuses as a message (config/web.py)."""

import os
import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.redis import get_redis
from config.web import form_errors_as_messages, shown_as_message
from templates_app.selectors import template_list_for_user

from .engine.breaker import BreakerSettings
from .importing.pipeline import progress_key
from .models import Campaign, ImportReport, Recipient
from .preflight import campaign_preflight
from .selectors import (
    campaign_deferred_until,
    campaign_get_for_user,
    campaign_list_for_user,
    recipient_list,
)
from .services.campaigns import BREAKER_EDITABLE, campaign_create, campaign_update
from .services.imports import import_upload
from .services.reruns import campaign_rerun, campaign_retry_failed
from .services.sending import campaign_pause, campaign_resume, campaign_send, campaign_stop

PREVIEW_SESSION_KEY = "import_preview"


@login_required
def campaign_list(request):
    campaigns = campaign_list_for_user(user=request.user, status=request.GET.get("status") or None)
    page = Paginator(campaigns, 25).get_page(request.GET.get("page"))
    return render(request, "campaigns/campaign_list.html", {"page": page})


class NewCampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    template = forms.ChoiceField()

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {str(t.pk): t for t in templates}
        self.fields["template"].choices = [
            (pk, f"{t.name} ({t.language}) · {t.category.lower()} · {t.account.name}")
            for pk, t in self.templates.items()
        ]


def _range_field(bounds: tuple[int, int], message: str) -> forms.IntegerField:
    """An optional whole number within `bounds` (the Campaign model's), one message for any
    value outside it or not a number."""
    low, high = bounds
    text = message.format(low=low, high=high)
    return forms.IntegerField(
        required=False,
        min_value=low,
        max_value=high,
        error_messages={"min_value": text, "max_value": text, "invalid": text},
    )


class SendForm(forms.Form):
    """The detail page's "Send now": a blank value keeps the campaign's setting."""

    rate_limit = _range_field(
        Campaign.RATE_LIMIT_RANGE, "The rate must be between {low} and {high} messages a second."
    )
    worker_count = _range_field(
        Campaign.WORKER_COUNT_RANGE, "Concurrency must be between {low} and {high}."
    )


class BreakerForm(forms.Form):
    """The breaker's thresholds on the campaign page; shares are entered as percentages. A
    blank field goes back to the workspace's default."""

    LIMITS = BreakerSettings.LIMITS  # the ranges BreakerSettings.clean enforces
    consecutive = forms.IntegerField(
        required=False, min_value=LIMITS["consecutive"][0], max_value=LIMITS["consecutive"][1]
    )
    share_percent = forms.FloatField(
        required=False, min_value=LIMITS["share"][0] * 100, max_value=LIMITS["share"][1] * 100
    )
    window = forms.IntegerField(
        required=False, min_value=LIMITS["window"][0], max_value=LIMITS["window"][1]
    )
    optout_percent = forms.FloatField(
        required=False,
        min_value=LIMITS["optout_share"][0] * 100,
        max_value=LIMITS["optout_share"][1] * 100,
    )

    def overrides(self) -> dict:
        data = self.cleaned_data
        share, optout = data["share_percent"], data["optout_percent"]
        return {
            "consecutive": data["consecutive"],
            "window": data["window"],
            "share": None if share is None else share / 100,
            "optout_share": None if optout is None else optout / 100,
        }

    @classmethod
    def for_campaign(cls, campaign: Campaign, effective: BreakerSettings) -> "BreakerForm":
        """The campaign's own overrides filled in; the values in force as placeholders."""
        own = campaign.breaker
        form = cls(
            initial={
                "consecutive": own.get("consecutive"),
                "window": own.get("window"),
                "share_percent": own["share"] * 100 if own.get("share") else None,
                "optout_percent": own["optout_share"] * 100 if own.get("optout_share") else None,
            }
        )
        optout = effective.optout_share
        shown = {
            "consecutive": effective.consecutive,
            "window": effective.window,
            "share_percent": f"{effective.share * 100:g}",
            "optout_percent": "off" if optout is None else f"{optout * 100:g}",
        }
        for name, value in shown.items():
            form.fields[name].widget.attrs["placeholder"] = str(value)
        return form


@login_required
def campaign_new(request):
    templates = template_list_for_user(user=request.user, status="APPROVED").filter(
        removed_upstream_at__isnull=True
    )
    form = NewCampaignForm(request.POST or None, templates=templates)
    if request.method == "POST" and form.is_valid():
        with shown_as_message(request):
            campaign, _ = campaign_create(
                user=request.user,
                name=form.cleaned_data["name"],
                template=form.templates[form.cleaned_data["template"]],
            )
            messages.success(request, "Draft created. Now add its recipients.")
            return redirect("campaign_detail", campaign_id=campaign.pk)
    return render(request, "campaigns/campaign_new.html", {"form": form})


@login_required
def campaign_detail(request, campaign_id):
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    preview = _preview_for_page(request, campaign)
    failed = recipient_list(campaign=campaign, statuses=[Recipient.Status.FAILED])[:20]
    breaker = BreakerSettings.resolve(campaign.workspace.breaker_defaults, campaign.breaker)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "preflight": campaign_preflight(campaign)
            if campaign.status in ("draft", "scheduled")
            else None,
            "imports": campaign.imports.all()[:10],
            "preview": preview,
            "failed": failed,
            "send_form": SendForm(
                initial={"rate_limit": campaign.rate_limit, "worker_count": campaign.worker_count}
            ),
            "breaker": breaker,
            "breaker_form": BreakerForm.for_campaign(campaign, breaker),
            "breaker_editable": campaign.status in BREAKER_EDITABLE,
            "deferred_until": campaign_deferred_until(campaign),
        },
    )


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
    with shown_as_message(request) as shown, default_storage.open(stored, "rb") as f:
        report = import_upload(
            campaign=campaign, user=request.user, upload=File(f, name=upload.name), dry_run=True
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
        # once it is done (see _preview_for_page), and only then offers the import.
        "queued": queued,
        "report_id": str(report.pk) if queued else None,
        "report": _summary(report),
    }
    return redirect("campaign_detail", campaign_id=campaign.pk)


def _summary(report: ImportReport) -> dict:
    return {
        "rows_read": report.rows_read,
        "imported": report.imported,
        "rejected": report.rejected,
        "skipped_duplicate": report.skipped_duplicate,
        "skipped_opted_out": report.skipped_opted_out,
        "warnings": report.warnings,
        "rejected_rows": report.rejected_sample[:20],
        "preview": report.preview[:3],
    }


def _preview_for_page(request, campaign) -> dict | None:
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
    progress = get_redis().get(progress_key(report.pk))
    return {**preview, "checking": True, "progress": int(progress) if progress else 0}


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
    _forget_preview(request)
    return redirect("campaign_detail", campaign_id=campaign_id)


def _forget_preview(request):
    preview = request.session.pop(PREVIEW_SESSION_KEY, None)
    if preview:
        default_storage.delete(preview["stored"])


@login_required
@require_POST
def campaign_control(request, campaign_id, action):
    campaign = campaign_get_for_user(user=request.user, campaign_id=campaign_id)
    user = request.user
    with shown_as_message(request):
        if action == "send":
            form = SendForm(request.POST)
            if not form.is_valid():
                form_errors_as_messages(request, form)
                return redirect("campaign_detail", campaign_id=campaign.pk)
            campaign_send(user=user, campaign=campaign, **form.cleaned_data)
        elif action == "breaker":
            form = BreakerForm(request.POST)
            if not form.is_valid():
                form_errors_as_messages(request, form)
                return redirect("campaign_detail", campaign_id=campaign.pk)
            campaign_update(user=user, campaign=campaign, breaker=form.overrides())
            messages.success(request, "Breaker thresholds saved.")
        elif action == "pause":
            campaign_pause(user=user, campaign=campaign)
        elif action == "resume":
            campaign_resume(user=user, campaign=campaign)
        elif action == "stop":
            campaign_stop(user=user, campaign=campaign)
        elif action == "retry":
            count = campaign_retry_failed(user=user, campaign=campaign)
            messages.success(request, f"{count} failed recipients queued again.")
        elif action == "rerun":
            rerun = campaign_rerun(
                user=user, campaign=campaign, segment=request.POST.get("segment") or "all"
            )
            messages.success(
                request, f"Created {rerun.name} with {rerun.total_recipients} recipients."
            )
            return redirect("campaign_detail", campaign_id=rerun.pk)
        else:
            messages.error(request, "Unknown action.")
    return redirect("campaign_detail", campaign_id=campaign.pk)
