"""Campaign writes. Each module is one concern; import the functions from here."""

from .lifecycle import (
    ALLOWED_TRANSITIONS,
    InvalidTransition,
    campaign_transition,
    campaigns_fail_for_template,
    campaigns_pause_for_template,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "InvalidTransition",
    "campaign_transition",
    "campaigns_fail_for_template",
    "campaigns_pause_for_template",
]
