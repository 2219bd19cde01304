"""Meta's webhooks about a template other than its status (docs/whatsapp.md §11.4): its quality
score changed (kept with its history), it was recategorised (or will be, from a date), or its
text was edited on WhatsApp (the account's catalogue is synced again). Running campaigns are
not stopped by any of these: the campaign page's pre-flight tells the operator (a RED quality,
a new category and what it costs, a spreadsheet that no longer fits the edited template).

Events are applied in the order Meta dates them: an older one arriving late changes nothing,
and the same event twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.db.models import Q

from whatsapp.webhook_account import CATEGORY_FIELD, QUALITY_FIELD, TemplateEvent

from .models import MessageTemplate, TemplateQualityChange

logger = logging.getLogger(__name__)


def _templates(account_ids: list, event: TemplateEvent) -> list[MessageTemplate]:
    templates = MessageTemplate.objects.select_for_update().filter(account_id__in=account_ids)
    found = list(templates.filter(meta_id=event.meta_id)) if event.meta_id else []
    if not found and event.name:
        found = list(templates.filter(Q(name=event.name) & Q(language=event.language)))
    return found


def _newer(at, last) -> bool:
    return last is None or at >= last


@transaction.atomic
def template_event_apply(*, account_ids: list, event: TemplateEvent) -> int:
    """Apply one quality, category or components event to the template on every account of
    the WABA; returns how many templates changed."""
    changed = 0
    resync: set = set()
    for template in _templates(account_ids, event):
        fields: list[str] = []
        if event.field == QUALITY_FIELD:
            TemplateQualityChange.objects.bulk_create(
                [
                    TemplateQualityChange(
                        template=template,
                        previous=event.previous_quality,
                        new=event.new_quality,
                        at=event.at,
                    )
                ],
                ignore_conflicts=True,
            )
            if _newer(event.at, template.quality_changed_at):
                template.quality_score, template.quality_changed_at = event.new_quality, event.at
                fields += ["quality_score", "quality_changed_at"]
        elif event.field == CATEGORY_FIELD:
            if event.new_category and _newer(event.at, template.category_changed_at):
                if event.new_category != template.category:
                    template.category_changed_from = template.category
                template.category, template.category_changed_at = event.new_category, event.at
                if template.pending_category == event.new_category:
                    template.pending_category, template.pending_category_from = "", None
                fields += [
                    "category",
                    "category_changed_from",
                    "category_changed_at",
                    "pending_category",
                    "pending_category_from",
                ]
            if event.correct_category and event.correct_category != template.category:
                template.pending_category = event.correct_category
                template.pending_category_from = event.category_from
                fields += ["pending_category", "pending_category_from"]
        elif template.components_changed_at is None or event.at > template.components_changed_at:
            # Strictly newer: the same edit delivered twice syncs once.
            template.components_changed_at = event.at
            fields.append("components_changed_at")
            resync.add(str(template.account_id))
        if fields:
            template.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
            changed += 1
    if resync:
        from .tasks import templates_sync_account

        for account_id in sorted(resync):
            transaction.on_commit(partial(templates_sync_account.delay, account_id))
    logger.info(
        "template event applied",
        extra={"field": event.field, "meta_id": event.meta_id, "templates_changed": changed},
    )
    return changed
