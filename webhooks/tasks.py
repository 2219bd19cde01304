"""Celery tasks for webhooks (thin: call the service, report counts). All are idempotent:
a drain claims its events with SKIP LOCKED, and applying a status twice changes nothing."""

from celery import shared_task

from campaigns.tracking import pending_statuses_prune, pending_statuses_retry

from .services import webhook_events_drain, webhook_events_prune


@shared_task(name="webhooks.drain")
def webhook_events_drain_task() -> dict:
    """Queued by the receiver (debounced) and by beat every WEBHOOK_DRAIN_INTERVAL_SECONDS."""
    result = webhook_events_drain()
    return {
        "events": result.events,
        "processed": result.processed,
        "failed": result.failed,
        "statuses": result.statuses.statuses,
    }


@shared_task(name="webhooks.pending_retry")
def pending_statuses_retry_task() -> dict:
    return {"applied": pending_statuses_retry()}


@shared_task(name="webhooks.prune")
def webhooks_prune_task() -> dict:
    return {"events": webhook_events_prune(), "pending_statuses": pending_statuses_prune()}
