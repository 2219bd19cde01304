"""Celery tasks for the template catalogue (thin: load, call the service, log)."""

import logging

from celery import shared_task

from whatsapp.models import WhatsAppAccount

from .services import TemplateSyncError, templates_sync

logger = logging.getLogger(__name__)


@shared_task(name="templates_app.sync_all")
def templates_sync_all() -> dict:
    """Beat: refresh every active account's catalogue (one failing account does not stop the
    others; its state says why)."""
    done, failed = 0, 0
    for account in WhatsAppAccount.objects.filter(state=WhatsAppAccount.State.ACTIVE):
        try:
            templates_sync(account=account)
            done += 1
        except TemplateSyncError:
            failed += 1
    return {"synced": done, "failed": failed}


@shared_task(name="templates_app.sync_account", bind=True, max_retries=10, default_retry_delay=3)
def templates_sync_account(self, account_id: str, retry: bool = False) -> None:
    """Sync one account; with `retry`, keep trying for a while (e.g. while the sandbox starts)."""
    account = WhatsAppAccount.objects.filter(pk=account_id).first()
    if account is None:
        return
    try:
        templates_sync(account=account)
    except TemplateSyncError as exc:
        logger.warning("template sync failed: %s", exc, extra={"account_id": account_id})
        if retry:
            raise self.retry(exc=exc) from exc
