"""Reads of campaigns, always scoped to the caller's workspaces."""

from datetime import datetime

from django.db.models import QuerySet

from accounts.selectors import get_scoped_or_404, scoped

from .engine.store import remaining
from .models import Campaign


def campaign_list_for_user(*, user, status: str | None = None) -> QuerySet[Campaign]:
    qs = scoped(Campaign.objects.select_related("template", "account", "workspace"), user=user)
    if status:
        qs = qs.filter(status=status)
    return qs


def campaign_get_for_user(*, user, campaign_id) -> Campaign:
    return get_scoped_or_404(
        Campaign.objects.select_related("template", "account", "workspace"),
        user=user,
        id=campaign_id,
    )


def campaign_deferred_until(campaign: Campaign) -> datetime | None:
    """When a running campaign that is only waiting resumes: every recipient left is pending
    with a later attempt (Meta's limits, the messaging tier) and nothing is being sent. None
    for a campaign that is sending, or not running. The engine's own reading of what is left
    (`store.remaining`), only then."""
    if campaign.status != Campaign.Status.RUNNING or campaign.sending_count:
        return None
    if not campaign.pending_count:
        return None
    left = remaining(campaign_id=campaign.pk)
    if left["due"] or left["sending"]:
        return None
    return left["later"]
