"""Webhook writes: receiving, draining, and applying statuses, replies, opt-outs and template
updates. Each module is one concern; import the functions from here."""

from .drain import (
    DrainResult,
    drain_soon,
    pending_statuses_prune,
    webhook_events_drain,
    webhook_events_prune,
    webhook_events_reprocess,
)
from .receive import Receipt, webhook_receive, webhook_verify
from .statuses import ApplyResult, fold, pending_statuses_apply, pending_statuses_retry

__all__ = [
    "ApplyResult",
    "DrainResult",
    "Receipt",
    "drain_soon",
    "fold",
    "pending_statuses_apply",
    "pending_statuses_prune",
    "pending_statuses_retry",
    "webhook_events_drain",
    "webhook_events_prune",
    "webhook_events_reprocess",
    "webhook_receive",
    "webhook_verify",
]
