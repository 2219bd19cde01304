"""The campaign state machine: the one place that decides which transitions are allowed.

draft → scheduled → running ⇄ paused → completed | stopped | failed. Every change of a
campaign's status goes through `campaign_transition` (a conditional UPDATE, so two callers
racing on the same campaign cannot both win).
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import Conflict

from ..engine import control
from ..models import Campaign

logger = logging.getLogger(__name__)

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Campaign.Status.DRAFT: {Campaign.Status.SCHEDULED, Campaign.Status.RUNNING},
    Campaign.Status.SCHEDULED: {
        Campaign.Status.DRAFT,
        Campaign.Status.RUNNING,
        Campaign.Status.PAUSED,
        Campaign.Status.STOPPED,
        Campaign.Status.FAILED,
    },
    Campaign.Status.RUNNING: {
        Campaign.Status.PAUSED,
        Campaign.Status.COMPLETED,
        Campaign.Status.STOPPED,
        Campaign.Status.FAILED,
    },
    Campaign.Status.PAUSED: {
        Campaign.Status.RUNNING,
        Campaign.Status.STOPPED,
        Campaign.Status.FAILED,
    },
    # retry-failed re-opens a completed campaign for the recipients it re-queues.
    Campaign.Status.COMPLETED: {Campaign.Status.RUNNING},
    Campaign.Status.STOPPED: set(),
    Campaign.Status.FAILED: set(),
}

_VERBS: dict[str, str] = {
    Campaign.Status.SCHEDULED: "schedule",
    Campaign.Status.RUNNING: "start",
    Campaign.Status.PAUSED: "pause",
    Campaign.Status.COMPLETED: "complete",
    Campaign.Status.STOPPED: "stop",
    Campaign.Status.FAILED: "fail",
    Campaign.Status.DRAFT: "unschedule",
}


class InvalidTransition(Conflict):
    """The campaign's current status does not allow the requested change (an API 409)."""

    code = "invalid_transition"


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
    changes = _status_changes(to, reason, now)
    with transaction.atomic():
        updated = Campaign.objects.filter(pk=campaign.pk, status__in=sources).update(**changes)
        if not updated:
            current = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True)
            status = current.first() or "deleted"
            raise InvalidTransition(f"cannot {_VERBS.get(to, to)} a {status} campaign")
        if to == Campaign.Status.RUNNING:
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


def _status_changes(to: str, reason: str, now) -> dict:
    """The columns a move to `to` sets (a running campaign carries no reason)."""
    changes: dict = {
        "status": to,
        "status_reason": "" if to == Campaign.Status.RUNNING else reason,
        "updated_at": now,
    }
    if to in (Campaign.Status.COMPLETED, Campaign.Status.STOPPED, Campaign.Status.FAILED):
        changes["completed_at"] = now
    return changes


def campaigns_fail_for_template(*, template, reason: str) -> int:
    """The template is gone for good (deleted on WhatsApp): every campaign still meant to send
    it fails, with the reason; its pending recipients stay as they are (a rerun with another
    template sends them). Returns how many failed."""
    return _move_for_template(
        template,
        {Campaign.Status.RUNNING, Campaign.Status.PAUSED, Campaign.Status.SCHEDULED},
        to=Campaign.Status.FAILED,
        reason=reason,
    )


def campaigns_pause_for_template(*, template, reason: str) -> int:
    """Pause every running campaign that sends `template`; returns how many were paused.

    Nothing resumes by itself: an operator resumes once the template is usable again.
    """
    return _move_for_template(
        template, {Campaign.Status.RUNNING}, to=Campaign.Status.PAUSED, reason=reason
    )


def campaigns_follow_template(*, template, reason: str, gone: bool, **_signal) -> int:
    """The receiver of `templates_app.signals.template_unsendable`: a template that is gone
    fails its campaigns, one that is merely unsendable pauses them."""
    if gone:
        return campaigns_fail_for_template(template=template, reason=reason)
    return campaigns_pause_for_template(template=template, reason=reason)


def _move(campaigns, sources: set[str], *, to: str, reason: str) -> int:
    """Move `campaigns` that are in `sources` to `to` in one UPDATE, and halt their senders
    (they notice within a fraction of a second)."""
    moving = list(campaigns.filter(status__in=sources).values_list("pk", flat=True))
    moved = Campaign.objects.filter(pk__in=moving, status__in=sources).update(
        **_status_changes(to, reason, timezone.now())
    )
    for campaign_id in moving:
        control.halt(campaign_id)
    return moved


def _move_for_template(template, sources: set[str], *, to: str, reason: str) -> int:
    moved = _move(Campaign.objects.filter(template=template), sources, to=to, reason=reason)
    if moved:
        logger.warning(
            "campaigns moved by template status",
            extra={"template_id": str(template.pk), "to": to, "count": moved, "reason": reason},
        )
    return moved


def campaigns_pause_for_account(*, account, reason: str, **_signal) -> int:
    """The receiver of `whatsapp.health.account_blocked`: Meta restricted, disabled, deleted or
    offboarded the account, so every running campaign on it pauses with Meta's reason (within a
    second: the senders are halted). Nothing resumes by itself."""
    moved = _move(
        # Its own campaigns, and those it is one of the numbers of (models_numbers.py).
        Campaign.objects.filter(Q(account=account) | Q(pool__account=account)).distinct(),
        {Campaign.Status.RUNNING},
        to=Campaign.Status.PAUSED,
        reason=reason,
    )
    if moved:
        logger.warning(
            "campaigns paused: the account is blocked",
            extra={"account_id": str(account.pk), "count": moved, "reason": reason},
        )
    return moved
