"""Dashboard pages (server-rendered, session auth)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from .selectors import campaign_list_for_user


@login_required
def campaign_list(request):
    campaigns = campaign_list_for_user(user=request.user, status=request.GET.get("status") or None)
    page = Paginator(campaigns, 25).get_page(request.GET.get("page"))
    return render(request, "campaigns/campaign_list.html", {"page": page})
