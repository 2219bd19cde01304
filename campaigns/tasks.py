"""Celery tasks for campaigns (thin: ids in, services and the engine do the work)."""

import os
import socket
import uuid

from celery import shared_task
from django.conf import settings

from .audiences.contact_uploads import contact_imports_expire, contacts_import_stored_file
from .engine import control
from .engine.runner import sender_finished, start_due_schedules, sweep
from .engine.sender import run_sender
from .services.imports import import_reports_expire, import_stored_file


@shared_task(name="campaigns.import_file")
def import_file(report_id: str, stored_name: str) -> None:
    import_stored_file(report_id=report_id, stored_name=stored_name)


@shared_task(name="campaigns.contacts_import_file")
def contacts_import_file(report_id: str, stored_name: str) -> None:
    contacts_import_stored_file(report_id=report_id, stored_name=stored_name)


# Not acks_late: a sender that dies is replaced by the sweeper, which first recovers its
# claims; redelivering the message as well would only add a second sender.
@shared_task(name="campaigns.sender")
def campaign_sender(campaign_id: str, sender_no: int = 0) -> str:
    # Recorded as the claims' owner (64 characters at most).
    worker = f"{socket.gethostname()[:40]}:{os.getpid()}:{sender_no}:{uuid.uuid4().hex[:8]}"
    control.clear_queued(campaign_id, sender_no)  # no longer on its way: here
    if not control.slot_take(campaign_id, sender_no, worker):
        return "duplicate"  # this sender number is running already; it carries on
    try:
        result = run_sender(
            campaign_id=campaign_id,
            worker=worker,
            budget_seconds=settings.ENGINE_TASK_BUDGET_SECONDS,
            slot=(control.slot_key(campaign_id, sender_no), worker),
            sender_no=sender_no,
        )
    finally:
        control.slot_release(campaign_id, sender_no, worker)
    sender_finished(campaign_id=campaign_id, sender_no=sender_no, result=result)
    return result.reason


@shared_task(name="campaigns.sweep")
def campaigns_sweep() -> dict:
    return sweep()


@shared_task(name="campaigns.start_schedules")
def campaigns_start_schedules() -> dict:
    return start_due_schedules()


@shared_task(name="campaigns.expire_imports")
def campaigns_expire_imports() -> int:
    """Recipient and contact imports a dead worker left queued or running end failed."""
    return import_reports_expire() + contact_imports_expire()
