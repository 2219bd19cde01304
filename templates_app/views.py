"""Dashboard pages for the template catalogue."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.switcher import current_workspace
from config.web import shown_as_message
from whatsapp.selectors import account_get_for_user, account_list_for_user

from .models import MessageTemplate
from .presentation import template_message, ttl_label
from .selectors import (
    template_campaigns,
    template_get_for_user,
    template_languages_for_user,
    template_list_for_user,
)
from .services import templates_sync

# The statuses the filter offers: the ones an operator meets (Meta has more, rarely seen).
LISTED_STATUSES = ["APPROVED", "PENDING", "PAUSED", "REJECTED", "DISABLED"]


@login_required
def template_list(request):
    filters = {
        key: (request.GET.get(key) or "").strip() for key in ("q", "status", "category", "language")
    }
    workspace = current_workspace(request)  # the switcher's choice, or None for all
    accounts = [
        a
        for a in account_list_for_user(user=request.user)
        if workspace is None or a.workspace_id == workspace.pk
    ]
    templates = template_list_for_user(
        user=request.user,
        status=filters["status"] or None,
        category=filters["category"] or None,
        language=filters["language"] or None,
        search=filters["q"] or None,
    )
    if workspace is not None:
        templates = templates.filter(workspace=workspace)
    by_account = {a.pk: [] for a in accounts}
    for template in templates:
        shown = (template, template_message(template))
        by_account.setdefault(template.account_id, []).append(shown)
    sections = [(a, by_account.get(a.pk, [])) for a in accounts]
    return render(
        request,
        "templates_app/template_list.html",
        {
            "sections": sections,
            **filters,
            "filtered": any(filters.values()),
            "statuses": LISTED_STATUSES,
            "categories": MessageTemplate.Category.values,
            "languages": template_languages_for_user(user=request.user),
        },
    )


@login_required
def template_detail(request, template_id):
    template = template_get_for_user(user=request.user, template_id=template_id)
    return render(
        request,
        "templates_app/template_detail.html",
        {
            "t": template,
            "message": template_message(template),
            "campaigns": list(template_campaigns(template=template)),
            "components_json": json.dumps(template.components, indent=2, ensure_ascii=False),
            "quality_history": list(template.quality_changes.all()[:10]),
            "ttl": ttl_label(template),
        },
    )


@login_required
@require_POST
def template_sync(request, account_id):
    account = account_get_for_user(user=request.user, account_id=account_id)
    with shown_as_message(request):
        result = templates_sync(account=account)
        summary = (
            f"Synced {result.total} templates from {account.name}: {result.created} new, "
            f"{result.updated} changed, {result.removed} removed."
        )
        if result.campaigns_paused:
            summary += f" {result.campaigns_paused} running campaign(s) paused."
        messages.success(request, summary)
    return redirect("template_list")
