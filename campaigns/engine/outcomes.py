"""From a send's result or error to the recipient's outcome, by the one error table."""

import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from whatsapp.errors import Action, WhatsAppError

from .claims import Claimed
from .store import Outcome

# The account-level verdicts that pause the whole campaign.
PAUSING = {Action.FIX, Action.STOP}
DEFAULT_MAX_ATTEMPTS = 5


def _later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def beyond_horizon(at) -> bool:
    """Deferred further than ENGINE_DEFER_HORIZON_HOURS: the recipient ends failed (retryable
    from `at`) and the campaign can complete, rather than stay running until then."""
    return at > timezone.now() + timedelta(hours=settings.ENGINE_DEFER_HORIZON_HOURS)


def effective_action(row: Claimed, error: WhatsAppError) -> Action:
    """The table's verdict for this attempt: a RETRY whose attempts are spent becomes the
    rule's `exhausted` action (failing the recipient, or pausing the campaign)."""
    rule = error.rule
    if rule.action == Action.RETRY and row.attempts >= (rule.max_attempts or DEFAULT_MAX_ATTEMPTS):
        return rule.exhausted or Action.RECIPIENT
    return rule.action


def outcome_for_error(row: Claimed, error: WhatsAppError) -> Outcome:
    rule = error.rule
    details = error.details or str(error)
    base: dict[str, Any] = {
        "error_code": error.code,
        "error_title": error.title or rule.explanation[:255],
        "error_details": details,
    }
    if error.maybe_delivered:
        # The request may have reached Meta: never re-send automatically; a webhook resolves
        # it through the callback data, or the operator retries it explicitly.
        return Outcome(
            row.id,
            "unknown",
            error_retryable=True,
            **{**base, "error_title": "Outcome unknown", "error_details": details},
        )
    action = effective_action(row, error)
    if action == Action.RETRY:
        return Outcome(
            row.id, "pending", next_attempt_at=_later(rule.retry_delay(row.attempts)), **base
        )
    if action == Action.DEFER:
        delay = rule.defer_seconds or 60
        if rule.defer_fails:  # Meta's per-user limits: this recipient, later
            at = _later(delay)
            return Outcome(row.id, "failed", error_retryable=True, next_attempt_at=at, **base)
        at = _later(delay * random.uniform(1.0, 1.5))
        if beyond_horizon(at):
            return Outcome(row.id, "failed", error_retryable=True, next_attempt_at=at, **base)
        return Outcome(row.id, "pending", next_attempt_at=at, **base)
    if action in PAUSING:
        # Not this recipient's fault: it waits for the campaign to resume.
        return Outcome(row.id, "pending", **base)
    return Outcome(row.id, "failed", error_retryable=rule.retryable, **base)
