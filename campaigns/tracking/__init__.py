"""Recipient tracking: what happens to a recipient after its send, beside the recipient model.

Meta's webhooks are read by `whatsapp.webhook_payload` and stored and dispatched by
`webhooks`; the state changes they cause live here, with the counters that follow them:

- `statuses`: the status precedence (sent < failed < delivered < read), applied in batches,
  and the statuses kept until their send is recorded (`PendingStatus`);
- `inbound`: replies, STOP / START keywords and `user_preferences` opt-outs and opt-ins;
- `clicks`: tracked links (`/r/<token>`) and Meta's click events (docs/clicks.md);
- `counters`: the campaign counters, adjusted in the same transaction as each state change,
  and `campaign_recount`, which rebuilds them from the recipients.

The state machine itself is drawn in docs/recipient-states.md.
"""

from .counters import (
    STATE_COLUMNS,
    campaign_recount,
    counters_apply,
    counts_from_recipients,
    stored_counts,
    transition_deltas,
)
from .inbound import inbound_messages_apply, optout_add, optout_lift, preferences_apply
from .statuses import (
    ApplyResult,
    CounterDeltas,
    fold,
    pending_statuses_apply,
    pending_statuses_prune,
    pending_statuses_retry,
    statuses_apply,
)

__all__ = [
    "STATE_COLUMNS",
    "ApplyResult",
    "CounterDeltas",
    "campaign_recount",
    "counters_apply",
    "counts_from_recipients",
    "fold",
    "inbound_messages_apply",
    "optout_add",
    "optout_lift",
    "pending_statuses_apply",
    "pending_statuses_prune",
    "pending_statuses_retry",
    "preferences_apply",
    "statuses_apply",
    "stored_counts",
    "transition_deltas",
]
