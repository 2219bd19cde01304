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
    search: str | None = None,
) -> QuerySet[MessageTemplate]:
    qs = scoped(MessageTemplate.objects.select_related("account"), user=user)
    if account_id:
        qs = qs.filter(account_id=account_id)
    if status:
        qs = qs.filter(status=status.upper())
    if category:
        qs = qs.filter(category=category.upper())
    if search:
        qs = qs.filter(name__icontains=search.strip())
    return qs


def template_get_for_user(*, user, template_id) -> MessageTemplate:
    return get_scoped_or_404(
        MessageTemplate.objects.select_related("account"), user=user, id=template_id
    )
