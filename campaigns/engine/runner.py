"""What happens around a sender run: start, continue, finish, and the periodic sweeps that
start scheduled campaigns and recover from dead workers."""

import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.redis import get_redis
from templates_app.services import template_status_change
from templates_app.tasks import templates_sync_account
from whatsapp.errors import classify
from whatsapp.models import WhatsAppAccount

from ..models import Campaign
from ..services.lifecycle import InvalidTransition, campaign_transition
from ..services.sending import (
    campaign_finish_if_done,
    campaign_start_scheduled,
    sender_enqueue,
    sender_numbers,
    senders_start,
)
from . import control, store
from .limiter import marks_key
from .sender import RunResult

logger = logging.getLogger(__name__)


def sender_finished(*, campaign_id, sender_no: int, result: RunResult) -> None:
    """Decide what follows a sender's run (called by the Celery task)."""
    if result.reason == "paused":
        engine_pause(
            campaign_id=campaign_id,
            reason=result.extra.get("reason", ""),
            code=result.extra.get("code"),
            account_id=result.extra.get("account_id"),
        )
    elif result.reason == "budget":
        sender_enqueue(campaign_id, sender_no)
    elif result.reason == "not-running":
        # Halted by a pause or stop; if the campaign was resumed meanwhile, the sender the
        # resume enqueued found this one's slot still held and left: carry on in its place.
        # (Still halted means a pause is committing, or a stale flag: nothing to carry on.)
        resumed = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.RUNNING)
        if resumed.exists() and not get_redis().exists(control.halt_key(campaign_id)):
            sender_enqueue(campaign_id, sender_no, countdown=1)
    elif result.reason == "drained":
        left = store.remaining(campaign_id=campaign_id)
        if left["due"]:
            sender_enqueue(campaign_id, sender_no)
        elif left["later"] is not None:
            wait = (left["later"] - timezone.now()).total_seconds()
            if wait <= settings.ENGINE_MAX_COUNTDOWN_SECONDS:
                sender_enqueue(campaign_id, sender_no, countdown=max(0.0, wait))
            # else: the sweeper starts a sender when the time comes
        elif not left["sending"]:
            campaign_finish_if_done(campaign_id=campaign_id)


def engine_pause(*, campaign_id, reason: str, code: int | None, account_id=None) -> None:
    """An account- or template-level error: pause, say why, and do what the error's rule
    says about the rest (whatsapp/errors.py): take over the template status Meta reported
    (which pauses every running campaign on the template), re-read a catalogue that may be
    out of date, flag a connection that needs a person (`account_id`: the number whose send
    met the error; by default the campaign's own)."""
    campaign = Campaign.objects.select_related("template", "account").get(pk=campaign_id)
    rule = classify(code) if code is not None else None
    if rule is not None and rule.template_status:
        template_status_change(
            template=campaign.template,
            status=rule.template_status,
            reason=f"WhatsApp refused sends with error {code}",
        )
    with contextlib.suppress(InvalidTransition):  # already paused or stopped: fine
        campaign_transition(
            campaign=campaign,
            to=Campaign.Status.PAUSED,
            reason=reason,
            allowed_from={Campaign.Status.RUNNING},
        )
    if rule is not None and rule.resync_catalogue:
        # 132001 is not proof the template is gone (another language, not approved yet):
        # the sync finds out, and pauses or fails the template's campaigns if it is.
        account_id = str(campaign.account_id)
        transaction.on_commit(lambda: templates_sync_account.delay(account_id))
    if rule is not None and rule.needs_attention:
        WhatsAppAccount.objects.filter(pk=account_id or campaign.account_id).update(
            state=WhatsAppAccount.State.NEEDS_ATTENTION, state_reason=reason
        )
    logger.warning(
        "campaign paused by the engine",
        extra={"campaign_id": str(campaign_id), "code": code, "reason": reason},
    )


def recover_expired(*, campaign_id=None) -> int:
    """Rows left in `sending` by dead workers: maybe-sent → unknown, never-sent → pending.

    A claim is only recovered when its lease ran out AND its worker stopped sending
    heartbeats: a live sender may still hold the row in its queue, and handing it to another
    sender would send it twice.
    """
    rows = store.expired_claims(campaign_id=campaign_id)
    redis = get_redis()
    alive: dict[tuple, bool] = {}
    by_campaign: dict = {}
    for rid, cid, worker in rows:
        key = (cid, worker)
        if key not in alive:
            alive[key] = bool(worker) and bool(
                redis.exists(f"{control.heartbeat_key(cid)}:{worker}")
            )
        if not alive[key]:
            by_campaign.setdefault(cid, []).append(rid)
    recovered = 0
    for cid, ids in by_campaign.items():
        marked = redis.smismember(marks_key(cid), ids)
        maybe = {rid for rid, m in zip(ids, marked, strict=True) if m}
        done = store.recover_claims(campaign_id=cid, maybe_sent=maybe, never_sent=set(ids) - maybe)
        if maybe & done:
            redis.srem(marks_key(cid), *(maybe & done))
        recovered += len(done)
    return recovered


def sweep() -> dict:
    """Beat: recover dead claims, keep running campaigns moving, finish drained ones."""
    recovered = recover_expired()
    restarted = finished = 0
    for campaign_id in Campaign.objects.filter(status=Campaign.Status.RUNNING).values_list(
        "pk", flat=True
    ):
        left = store.remaining(campaign_id=campaign_id)
        if not left["due"] and not left["sending"] and left["later"] is None:
            finished += campaign_finish_if_done(campaign_id=campaign_id)
        elif left["due"]:
            # Sender numbers whose sender died (with its worker or host) and none is on its
            # way: started again, while the others go on (a number of a pool left unused
            # otherwise until every sender had stopped).
            missing = control.senders_missing(campaign_id, sender_numbers(campaign_id))
            if missing:
                senders_start(campaign_id, only=missing)
                restarted += 1
    return {"recovered": recovered, "restarted": restarted, "finished": finished}


def start_due_schedules() -> dict:
    """Beat: start scheduled campaigns whose time has come; one missed by more than the grace
    period (the system was down) is paused with the reason instead of firing late."""
    now = timezone.now()
    grace = timedelta(minutes=settings.SCHEDULE_GRACE_MINUTES)
    started = missed = 0
    due = Campaign.objects.filter(status=Campaign.Status.SCHEDULED, send_at__lte=now)
    for campaign in due.select_related("template", "account"):
        try:
            assert campaign.send_at is not None  # filtered on send_at__lte
            if now - campaign.send_at > grace:
                when = timezone.localtime(campaign.send_at).strftime("%Y-%m-%d %H:%M %Z")
                campaign_transition(
                    campaign=campaign,
                    to=Campaign.Status.PAUSED,
                    reason=f"The schedule ({when}) was missed by more than "
                    f"{settings.SCHEDULE_GRACE_MINUTES} minutes; resume to send now.",
                    allowed_from={Campaign.Status.SCHEDULED},
                )
                missed += 1
            else:
                campaign_start_scheduled(campaign=campaign)
                senders_start(campaign.pk)
                started += 1
        except InvalidTransition:
            continue
    return {"started": started, "missed": missed}
