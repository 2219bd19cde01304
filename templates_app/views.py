"""Dashboard pages for the template catalogue."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from config.web import shown_as_message
from whatsapp.selectors import account_get_for_user, account_list_for_user

from .selectors import template_list_for_user
from .services import templates_sync


@login_required
def template_list(request):
    status = request.GET.get("status") or None
    search = request.GET.get("q") or None
    accounts = list(account_list_for_user(user=request.user))
    templates = template_list_for_user(user=request.user, status=status, search=search)
    by_account = {a.pk: [] for a in accounts}
    for template in templates:
        by_account.setdefault(template.account_id, []).append(template)
    sections = [(a, by_account.get(a.pk, [])) for a in accounts]
    return render(
        request,
        "templates_app/template_list.html",
        {"sections": sections, "status": status or "", "q": search or ""},
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
