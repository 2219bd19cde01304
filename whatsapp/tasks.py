"""Celery tasks for WhatsApp connections (thin: load, call the service, log)."""

import logging

from celery import shared_task

from .health import account_refresh_from_meta
from .models import WhatsAppAccount

logger = logging.getLogger(__name__)


@shared_task(name="whatsapp.refresh_numbers")
def accounts_refresh_from_meta_task() -> dict:
    """Beat (hourly): read every active number's throughput, quality and messaging limit from
    the Graph API and correct the accounts that disagree."""
    corrected = 0
    for account in WhatsAppAccount.objects.filter(state=WhatsAppAccount.State.ACTIVE):
        corrected += bool(account_refresh_from_meta(account=account))
    return {"corrected": corrected}


@shared_task(name="whatsapp.refresh_number")
def account_refresh_from_meta_task(account_id: str) -> None:
    """One number, read from Meta as soon as it is connected."""
    account = WhatsAppAccount.objects.filter(pk=account_id).first()
    if account is not None:
        account_refresh_from_meta(account=account)
