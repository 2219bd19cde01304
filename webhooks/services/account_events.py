"""Webhook changes about an account rather than a message: template status updates
(WHATSAPP.md §2.3) and value-level errors such as 130429 (§5.4)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import Q

from templates_app.models import MessageTemplate
from templates_app.services import template_status_change
from whatsapp.errors import WhatsAppError
from whatsapp.models import WhatsAppAccount

from .directory import AccountRef
from .payload import TemplateUpdate

logger = logging.getLogger(__name__)


def template_update_apply(*, accounts: list[AccountRef], update: TemplateUpdate) -> int:
    """Apply a `message_template_status_update` to the template on every account of the WABA
    (each connected number keeps its own catalogue); returns how many campaigns paused."""
    templates = MessageTemplate.objects.filter(account_id__in=[a.id for a in accounts])
    found = list(templates.filter(meta_id=update.meta_id)) if update.meta_id else []
    if not found and update.name:
        found = list(templates.filter(Q(name=update.name) & Q(language=update.language)))
    if not found:
        logger.info(
            "template status update for a template not in the catalogue",
            extra={
                "meta_id": update.meta_id,
                "template_name": update.name,
                "event": update.event,
            },
        )
        return 0
    paused = 0
    for template in found:
        paused += template_status_change(
            template=template, status=update.event, reason=update.reason
        )
    logger.info(
        "template status updated by webhook",
        extra={"meta_id": update.meta_id, "event": update.event, "campaigns_paused": paused},
    )
    return paused


def account_errors_record(
    *, account: AccountRef, errors: list[WhatsAppError], at: datetime
) -> None:
    """Keep the last value-level error on the account, for the operator (and the engine)."""
    last = errors[-1]
    WhatsAppAccount.objects.filter(pk=account.id).update(
        last_error_code=last.code, last_error_details=str(last)[:2000], last_error_at=at
    )
    logger.warning(
        "value-level webhook error",
        extra={"account_id": str(account.id), "error_code": last.code, "count": len(errors)},
    )
