"""Campaign writes. Each module is one concern; import the functions from here."""

from .counters import (
    STATE_COLUMNS,
    campaign_recount,
    counters_apply,
    counts_from_recipients,
    stored_counts,
    transition_deltas,
)
from .lifecycle import (
    ALLOWED_TRANSITIONS,
    InvalidTransition,
    campaign_transition,
    campaigns_fail_for_template,
    campaigns_pause_for_template,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "STATE_COLUMNS",
    "InvalidTransition",
    "campaign_recount",
    "campaign_transition",
    "campaigns_fail_for_template",
    "campaigns_pause_for_template",
    "counters_apply",
    "counts_from_recipients",
    "stored_counts",
    "transition_deltas",
]
