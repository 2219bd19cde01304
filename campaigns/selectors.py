"""Reads of campaigns, always scoped to the caller's workspaces."""

from django.db.models import QuerySet

from accounts.selectors import get_scoped_or_404, scoped

from .models import Campaign


def campaign_list_for_user(*, user, status: str | None = None) -> QuerySet[Campaign]:
    qs = scoped(Campaign.objects.select_related("template", "account"), user=user)
    if status:
        qs = qs.filter(status=status)
    return qs


def campaign_get_for_user(*, user, campaign_id) -> Campaign:
    return get_scoped_or_404(
        Campaign.objects.select_related("template", "account"), user=user, id=campaign_id
    )
