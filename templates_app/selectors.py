"""Reads of the template catalogue, scoped to the caller's workspaces."""

from django.db.models import QuerySet

from accounts.selectors import get_scoped_or_404, scoped

from .models import MessageTemplate


def template_list_for_user(
    *,
    user,
    account_id=None,
    status: str | None = None,
    category: str | None = None,
    language: str | None = None,
    search: str | None = None,
) -> QuerySet[MessageTemplate]:
    qs = scoped(MessageTemplate.objects.select_related("account"), user=user)
    if account_id:
        qs = qs.filter(account_id=account_id)
    if status:
        qs = qs.filter(status=status.upper())
    if category:
        qs = qs.filter(category=category.upper())
    if language:
        qs = qs.filter(language=language)
    if search:
        qs = qs.filter(name__icontains=search.strip())
    return qs


def template_languages_for_user(*, user) -> list[str]:
    """The languages the caller's templates are in, for the list's filter."""
    qs = scoped(MessageTemplate.objects.all(), user=user)
    return list(qs.order_by("language").values_list("language", flat=True).distinct())


def template_get_for_user(*, user, template_id) -> MessageTemplate:
    return get_scoped_or_404(
        MessageTemplate.objects.select_related("account"), user=user, id=template_id
    )


def template_campaigns(*, template: MessageTemplate, limit: int = 50):
    """The campaigns that send `template`, newest first (through the reverse relation:
    campaigns sits above this app). A template's campaigns are in its workspace; the filter
    says so anyway, so a page can never list another workspace's."""
    return (
        template.campaigns.filter(workspace_id=template.workspace_id)
        .order_by("-created_at")
        .only("id", "name", "status", "total_recipients", "created_at")[:limit]
    )
