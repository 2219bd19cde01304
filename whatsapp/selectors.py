"""Reads of WhatsApp connections, scoped to the caller's workspaces."""

from django.db.models import QuerySet

from accounts.selectors import get_scoped_or_404, scoped

from .models import WhatsAppAccount


def account_list_for_user(*, user) -> QuerySet[WhatsAppAccount]:
    return scoped(WhatsAppAccount.objects.select_related("workspace"), user=user)


def account_get_for_user(*, user, account_id) -> WhatsAppAccount:
    return get_scoped_or_404(WhatsAppAccount.objects.all(), user=user, id=account_id)
