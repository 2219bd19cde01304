"""The campaign state machine: the one place that decides which transitions are allowed.

draft → scheduled → running ⇄ paused → completed | stopped | failed. Every change of a
campaign's status goes through `campaign_transition` (a conditional UPDATE, so two callers
racing on the same campaign cannot both win).
"""

import logging

from django.db import transaction
from django.utils import timezone

from ..engine import control
from ..models import Campaign

logger = logging.getLogger(__name__)

S = Campaign.Status

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SCHEDULED, S.RUNNING},
    S.SCHEDULED: {S.DRAFT, S.RUNNING, S.PAUSED, S.STOPPED, S.FAILED},
    S.RUNNING: {S.PAUSED, S.COMPLETED, S.STOPPED, S.FAILED},
    S.PAUSED: {S.RUNNING, S.STOPPED, S.FAILED},
    # retry-failed re-opens a completed campaign for the recipients it re-queues.
    S.COMPLETED: {S.RUNNING},
    S.STOPPED: set(),
    S.FAILED: set(),
}

_VERBS = {
    S.SCHEDULED: "schedule",
    S.RUNNING: "start",
    S.PAUSED: "pause",
    S.COMPLETED: "complete",
    S.STOPPED: "stop",
    S.FAILED: "fail",
    S.DRAFT: "unschedule",
}


class InvalidTransition(Exception):
    """The campaign's current status does not allow the requested change (an API 409)."""


def campaign_transition(
    *, campaign: Campaign, to: str, reason: str = "", allowed_from: set[str] | None = None
) -> Campaign:
    """Move the campaign to `to` if its current status allows it, atomically.

    `allowed_from` narrows the statuses this caller accepts (e.g. resume only from paused).
    """
    sources = {s for s, targets in ALLOWED_TRANSITIONS.items() if to in targets}
    if allowed_from is not None:
        sources &= allowed_from
    now = timezone.now()
    changes: dict = {"status": to, "status_reason": reason, "updated_at": now}
    if to == S.RUNNING:
        changes["status_reason"] = ""
    if to in (S.COMPLETED, S.STOPPED, S.FAILED):
        changes["completed_at"] = now
    with transaction.atomic():
        updated = Campaign.objects.filter(pk=campaign.pk, status__in=sources).update(**changes)
        if not updated:
            current = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True)
            status = current.first() or "deleted"
            raise InvalidTransition(f"cannot {_VERBS.get(to, to)} a {status} campaign")
        if to == S.RUNNING:
            Campaign.objects.filter(pk=campaign.pk, started_at__isnull=True).update(started_at=now)
            Campaign.objects.filter(pk=campaign.pk).update(completed_at=None)
            transaction.on_commit(lambda: control.unhalt(campaign.pk))
        else:
            # Running senders notice within a fraction of a second.
            control.halt(campaign.pk)
    campaign.refresh_from_db()
    logger.info(
        "campaign status changed",
        extra={"campaign_id": str(campaign.pk), "status": to, "reason": reason},
    )
    return campaign


def campaigns_fail_for_template(*, template, reason: str) -> int:
    """The template is gone for good (deleted on WhatsApp): every campaign still meant to send
    it fails, with the reason; its pending recipients stay as they are (a rerun with another
    template sends them). Returns how many failed."""
    live = list(
        Campaign.objects.filter(
            template=template, status__in=[S.RUNNING, S.PAUSED, S.SCHEDULED]
        ).values_list("pk", flat=True)
    )
    now = timezone.now()
    failed = Campaign.objects.filter(
        pk__in=live, status__in=[S.RUNNING, S.PAUSED, S.SCHEDULED]
    ).update(status=S.FAILED, status_reason=reason, completed_at=now, updated_at=now)
    for campaign_id in live:
        control.halt(campaign_id)
    if failed:
        logger.warning(
            "campaigns failed: template deleted",
            extra={"template_id": str(template.pk), "count": failed, "reason": reason},
        )
    return failed


def campaigns_pause_for_template(*, template, reason: str) -> int:
    """Pause every running campaign that sends `template`; returns how many were paused.

    Nothing resumes by itself: an operator resumes once the template is usable again.
    """
    running = list(
        Campaign.objects.filter(template=template, status=S.RUNNING).values_list("pk", flat=True)
    )
    paused = Campaign.objects.filter(pk__in=running, status=S.RUNNING).update(
        status=S.PAUSED, status_reason=reason, updated_at=timezone.now()
    )
    for campaign_id in running:
        control.halt(campaign_id)
    if paused:
        logger.warning(
            "campaigns paused by template status",
            extra={"template_id": str(template.pk), "count": paused, "reason": reason},
        )
    return paused
