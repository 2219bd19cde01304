"""The webhook inbox: receiving and storing Meta's POSTs, draining them, and dispatching what
they say to the apps that own it (`dispatch.py`). Import the functions from here."""

from .drain import (
    DrainResult,
    drain_soon,
    webhook_events_drain,
    webhook_events_prune,
    webhook_events_reprocess,
)
from .receive import Receipt, webhook_receive, webhook_verify

__all__ = [
    "DrainResult",
    "Receipt",
    "drain_soon",
    "webhook_events_drain",
    "webhook_events_prune",
    "webhook_events_reprocess",
    "webhook_receive",
    "webhook_verify",
]
