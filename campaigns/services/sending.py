"""Send, schedule, pause, resume and stop: the operator's controls over a campaign.

Every control goes through `campaign_transition`, so the rules live in one table; starting
senders happens on commit, so a rolled-back request never leaves a sender running.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from templates_app.services import TemplateNotSendable, template_require_sendable
from whatsapp.models import WhatsAppAccount

from ..audiences.resolve import audience_resolve
from ..models import Campaign, Recipient
from ..models_numbers import numbers_count, numbers_of
from .campaigns import CampaignError, _check_member
from .lifecycle import InvalidTransition, campaign_transition
from .numbers import campaign_rate_check

logger = logging.getLogger(__name__)


def senders_start(campaign_id, only=None) -> None:
    """Enqueue the campaign's sender tasks (after commit); `only`: those sender numbers."""
    for n in sender_numbers(campaign_id) if only is None else only:
        sender_enqueue(campaign_id, n)


def sender_enqueue(campaign_id, sender_no: int, countdown: float = 0.0) -> None:
    """Enqueue one sender task, marked as on its way (engine/control.py `mark_queued`)."""
    from ..engine import control
    from ..tasks import campaign_sender

    control.mark_queued(campaign_id, sender_no, countdown)
    campaign_sender.apply_async((str(campaign_id), sender_no), countdown=countdown or None)


def sender_numbers(campaign_id) -> range:
    """The campaign's sender numbers: ENGINE_SENDERS_PER_CAMPAIGN for each number it sends
    from (sender n sends from number n // ENGINE_SENDERS_PER_CAMPAIGN: engine/sender.py)."""
    return range(max(1, settings.ENGINE_SENDERS_PER_CAMPAIGN) * numbers_count(campaign_id))


def _numbers_ready(campaign: Campaign, *, doing: str) -> None:
    """Every number the campaign sends from is active and not restricted by Meta; a refusal
    names the number when there are several."""
    numbers = numbers_of(campaign)
    for account in numbers:
        which = f" ({account})" if len(numbers) > 1 else ""
        if account.state != WhatsAppAccount.State.ACTIVE:
            raise InvalidTransition(
                f"{doing}the WhatsApp account{which} needs attention: "
                f"{account.state_reason or 'check it'}"
            )
        if blocked := account.blocked_reason():
            raise InvalidTransition(f"{doing}Meta does not let this account{which} send: {blocked}")


def _ready_to_send(campaign: Campaign) -> None:
    try:
        template_require_sendable(campaign.template)
    except TemplateNotSendable as exc:
        raise CampaignError(str(exc), field="template_id") from exc
    _numbers_ready(campaign, doing="")


def _require_recipients(campaign: Campaign, *, later: bool) -> None:
    if later and campaign.audience:
        return  # its audience is resolved when the schedule fires
    if not Recipient.objects.filter(campaign=campaign, status=Recipient.Status.PENDING).exists():
        what = " (its audience has no contact to send to)" if campaign.audience else ""
        raise InvalidTransition(f"the campaign has no recipients to send to{what}")


@transaction.atomic
def campaign_send(
    *,
    user,
    campaign: Campaign,
    worker_count: int | None = None,
    rate_limit: int | None = None,
    send_at=None,
) -> Campaign:
    """Start now, or schedule for `send_at` (an aware datetime in the future)."""
    _check_member(user, campaign.workspace_id)
    campaign = (
        Campaign.objects.select_for_update()
        .select_related("template", "account")
        .get(pk=campaign.pk)
    )
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        raise InvalidTransition(f"cannot send a {campaign.status} campaign")
    _ready_to_send(campaign)
    if worker_count is not None:
        campaign.worker_count = worker_count
    if rate_limit is not None:
        campaign_rate_check(rate_limit=rate_limit, count=numbers_count(campaign.pk))
        campaign.rate_limit = rate_limit
    now = timezone.now()
    if send_at is not None and timezone.is_naive(send_at):
        raise CampaignError(
            "send_at needs a time zone (e.g. 2026-12-01T09:00:00+01:00).", field="send_at"
        )
    grace = timedelta(minutes=settings.SCHEDULE_GRACE_MINUTES)
    if send_at is not None and send_at < now - grace:
        # Most likely a stale form or a wrong date: starting now would surprise someone.
        raise CampaignError(
            f"send_at {send_at.isoformat()} is in the past; leave it out to send now.",
            field="send_at",
        )
    later = send_at is not None and send_at > now + timedelta(seconds=5)
    if not later:
        # Sent now: its audience becomes recipients in this transaction (docs/audiences.md §5).
        audience_resolve(campaign=campaign, user_id=user.pk)
    _require_recipients(campaign, later=later)
    if later:
        campaign.send_at = send_at
        campaign.save(update_fields=["worker_count", "rate_limit", "send_at", "updated_at"])
        if campaign.status == Campaign.Status.SCHEDULED:
            return campaign  # rescheduled (and its settings updated)
        return campaign_transition(campaign=campaign, to=Campaign.Status.SCHEDULED)
    campaign.send_at = send_at or campaign.send_at
    campaign.save(update_fields=["worker_count", "rate_limit", "send_at", "updated_at"])
    campaign = campaign_transition(campaign=campaign, to=Campaign.Status.RUNNING)
    transaction.on_commit(lambda: senders_start(campaign.pk))
    return campaign


@transaction.atomic
def campaign_start_scheduled(*, campaign: Campaign) -> Campaign:
    """Beat: a scheduled campaign whose time has come starts, its audience resolved into
    recipients in the same transaction (a campaign no longer scheduled is left alone)."""
    campaign = Campaign.objects.select_for_update().select_related("template").get(pk=campaign.pk)
    if campaign.status != Campaign.Status.SCHEDULED:
        raise InvalidTransition(f"cannot start a {campaign.status} campaign")
    audience_resolve(campaign=campaign, user_id=campaign.created_by_id)
    return campaign_transition(
        campaign=campaign, to=Campaign.Status.RUNNING, allowed_from={Campaign.Status.SCHEDULED}
    )


def campaign_pause(*, user, campaign: Campaign, reason: str = "") -> Campaign:
    _check_member(user, campaign.workspace_id)
    return campaign_pause_by_staff(campaign=campaign, reason=reason or "Paused by the operator.")


def campaign_pause_by_staff(*, campaign: Campaign, reason: str) -> Campaign:
    """Pause with every check but workspace membership (the Django admin's staff)."""
    return campaign_transition(
        campaign=campaign,
        to=Campaign.Status.PAUSED,
        reason=reason,
        allowed_from={Campaign.Status.RUNNING, Campaign.Status.SCHEDULED},
    )


def campaign_resume(*, user, campaign: Campaign) -> Campaign:
    _check_member(user, campaign.workspace_id)
    return campaign_resume_by_staff(campaign=campaign)


@transaction.atomic
def campaign_resume_by_staff(*, campaign: Campaign) -> Campaign:
    """Resume with every check but workspace membership (the Django admin's staff)."""
    campaign = Campaign.objects.select_related("template", "account").get(pk=campaign.pk)
    if campaign.status != Campaign.Status.PAUSED:
        raise InvalidTransition(f"cannot resume a {campaign.status} campaign")
    try:
        template_require_sendable(campaign.template)
    except TemplateNotSendable as exc:
        raise InvalidTransition(f"cannot resume: {exc}") from exc
    _numbers_ready(campaign, doing="cannot resume: ")
    campaign = campaign_transition(
        campaign=campaign, to=Campaign.Status.RUNNING, allowed_from={Campaign.Status.PAUSED}
    )
    transaction.on_commit(lambda: senders_start(campaign.pk))
    return campaign


def campaign_stop(*, user, campaign: Campaign) -> Campaign:
    """Stop for good: nothing more is sent; what was not sent stays pending (visible)."""
    _check_member(user, campaign.workspace_id)
    return campaign_stop_by_staff(campaign=campaign, reason="Stopped by the operator.")


def campaign_stop_by_staff(*, campaign: Campaign, reason: str) -> Campaign:
    """Stop with every check but workspace membership (the Django admin's staff)."""
    return campaign_transition(campaign=campaign, to=Campaign.Status.STOPPED, reason=reason)


def campaign_status_set(*, user, campaign: Campaign, status: str) -> Campaign:
    """The seed API's `POST …/status/ {status: paused|active|stopped}`."""
    if status == "paused":
        return campaign_pause(user=user, campaign=campaign)
    if status == "active":
        return campaign_resume(user=user, campaign=campaign)
    if status == "stopped":
        return campaign_stop(user=user, campaign=campaign)
    raise CampaignError("status must be paused, active or stopped.", field="status")


def campaign_finish_if_done(*, campaign_id) -> bool:
    """Mark a running campaign completed once nothing is pending or sending."""
    busy = Recipient.objects.filter(
        campaign_id=campaign_id, status__in=[Recipient.Status.PENDING, Recipient.Status.SENDING]
    ).exists()
    if busy:
        return False
    try:
        campaign_transition(
            campaign=Campaign(pk=campaign_id),
            to=Campaign.Status.COMPLETED,
            allowed_from={Campaign.Status.RUNNING},
        )
    except InvalidTransition:
        return False
    return True
