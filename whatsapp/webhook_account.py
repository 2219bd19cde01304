"""Reading Meta's account-health webhooks: `account_update`, `phone_number_quality_update` and
`business_capability_update` (docs/whatsapp.md §11.4), into plain records. Nothing here
decides what they mean for sending: `whatsapp.health` does.

A field of the wrong shape is dropped, never raised: one odd event must not cost the batch it
came in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .webhook_payload import parse_time

ACCOUNT_FIELD = "account_update"
NUMBER_FIELD = "phone_number_quality_update"
CAPABILITY_FIELD = "business_capability_update"
HEALTH_FIELDS = {ACCOUNT_FIELD, NUMBER_FIELD, CAPABILITY_FIELD}
# A template's quality, category or text changed (the status update is webhook_payload's).
QUALITY_FIELD = "message_template_quality_update"
CATEGORY_FIELD = "template_category_update"
COMPONENTS_FIELD = "message_template_components_update"
TEMPLATE_EVENT_FIELDS = {QUALITY_FIELD, CATEGORY_FIELD, COMPONENTS_FIELD}
SCORES = {"GREEN", "YELLOW", "RED", "UNKNOWN"}
CATEGORIES = {"MARKETING", "UTILITY", "AUTHENTICATION"}

# Meta's messaging-limit names (webhooks and the Graph API) → WhatsAppAccount.Tier's values:
# unique users a day, or "unlimited".
LIMITS = {
    "TIER_50": "50",
    "TIER_250": "250",
    "TIER_1K": "1000",
    "TIER_2K": "2000",
    "TIER_10K": "10000",
    "TIER_100K": "100000",
    "TIER_UNLIMITED": "unlimited",
    "UNLIMITED": "unlimited",
}


@dataclass(slots=True)
class Restriction:
    kind: str  # e.g. RESTRICTED_BIZ_INITIATED_MESSAGING
    expires: datetime | None


@dataclass(slots=True)
class AccountUpdate:
    event: str  # ACCOUNT_RESTRICTION, DISABLED_UPDATE, ACCOUNT_OFFBOARDED, …
    at: datetime  # the entry's time (when Meta says it happened)
    restrictions: list[Restriction] = field(default_factory=list)
    ban_state: str = ""  # DISABLED_UPDATE: DISABLE, REINSTATE, SCHEDULE_FOR_DISABLE, …
    detail: str = ""  # a violation's type, a ban's date, a disconnection's reason…
    value: dict = field(default_factory=dict)


@dataclass(slots=True)
class NumberUpdate:
    """A number's (phone_number_quality_update) or the portfolio's (business_capability_update)
    new limits. `display_phone_number` names the number (digits); empty for the portfolio."""

    field: str
    event: str  # THROUGHPUT_UPGRADE, UPGRADE, DOWNGRADE, FLAGGED, UNFLAGGED, ONBOARDING, …
    at: datetime
    display_phone_number: str = ""
    limit: str = ""  # a tier of LIMITS' values, or "" when the event carries none
    value: dict = field(default_factory=dict)


@dataclass(slots=True)
class TemplateEvent:
    """A template's quality score, category (now, or an impending change) or text changed."""

    field: str
    at: datetime
    meta_id: str
    name: str
    language: str
    new_quality: str = ""
    previous_quality: str = ""
    new_category: str = ""
    previous_category: str = ""
    # An impending recategorisation: the category Meta will apply, and when.
    correct_category: str = ""
    category_from: datetime | None = None
    element: str = ""  # the edited text (components update)


def _text(raw) -> str:
    return raw.strip() if isinstance(raw, str) else str(raw) if isinstance(raw, int) else ""


def _expiration(raw) -> datetime | None:
    """A restriction's expiration (unix seconds) as aware UTC; None when it has none. (Unlike
    `parse_time`, an expiration may be far ahead.)"""
    try:
        seconds = int(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    if not 0 < seconds < 32_503_680_000:  # the year 3000
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def entry_time(raw, default: datetime) -> datetime:
    """When Meta says an entry happened (its `time`), or `default` (its arrival)."""
    return parse_time(raw, default) if raw is not None else default


def _limit(raw) -> str:
    """A messaging limit as Meta writes it ("TIER_2K", or a number of conversations)."""
    if isinstance(raw, bool):
        return ""
    if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
        number = int(raw)
        return (
            str(number)
            if str(number) in LIMITS.values()
            else ("unlimited" if number > 100_000 else "")
        )
    return LIMITS.get(_text(raw).upper(), "")


def read_account_update(value: dict, at: datetime) -> AccountUpdate | None:
    event = _text(value.get("event")).upper()
    if not event:
        return None
    update = AccountUpdate(event=event, at=at, value=value)
    for info in value.get("restriction_info") or ():
        if isinstance(info, dict) and _text(info.get("restriction_type")):
            update.restrictions.append(
                Restriction(
                    kind=_text(info["restriction_type"]).upper(),
                    expires=_expiration(info.get("expiration")),
                )
            )
    ban = value.get("ban_info")
    if isinstance(ban, dict):
        update.ban_state = _text(ban.get("waba_ban_state")).upper()
        update.detail = _text(ban.get("waba_ban_date"))
    violation = value.get("violation_info")
    if isinstance(violation, dict):
        update.detail = _text(violation.get("violation_type"))
    disconnection = value.get("disconnection_info")
    if isinstance(disconnection, dict):
        update.detail = _text(disconnection.get("reason"))
    return update


def read_number_update(field_name: str, value: dict, at: datetime) -> NumberUpdate | None:
    if field_name == NUMBER_FIELD:
        limit = _limit(value.get("max_daily_conversations_per_business")) or _limit(
            value.get("current_limit")
        )
        update = NumberUpdate(
            field=field_name,
            event=_text(value.get("event")).upper(),
            at=at,
            display_phone_number="".join(
                ch for ch in _text(value.get("display_phone_number")) if ch.isdigit()
            ),
            limit=limit,
            value=value,
        )
        return update if update.event or update.limit else None
    # business_capability_update: the portfolio's limit (shared by all its numbers).
    limit = _limit(value.get("max_daily_conversations_per_business")) or _limit(
        value.get("max_daily_conversation_per_phone")
    )
    if not limit:
        return None
    return NumberUpdate(field=field_name, event="CAPABILITY", at=at, limit=limit, value=value)


def read_template_event(field_name: str, value: dict, at: datetime) -> TemplateEvent | None:
    event = TemplateEvent(
        field=field_name,
        at=at,
        meta_id=_text(value.get("message_template_id")),
        name=_text(value.get("message_template_name")),
        language=_text(value.get("message_template_language")),
    )
    if not event.meta_id and not event.name:
        return None
    if field_name == QUALITY_FIELD:
        event.new_quality = _text(value.get("new_quality_score")).upper()
        event.previous_quality = _text(value.get("previous_quality_score")).upper()
        return event if event.new_quality in SCORES else None
    if field_name == CATEGORY_FIELD:
        event.new_category = _text(value.get("new_category")).upper()
        event.previous_category = _text(value.get("previous_category")).upper()
        event.correct_category = _text(value.get("correct_category")).upper()
        event.category_from = _expiration(value.get("category_update_timestamp"))
        if event.new_category not in CATEGORIES:
            event.new_category = ""
        if event.correct_category not in CATEGORIES:
            event.correct_category = ""
        return event if event.new_category or event.correct_category else None
    event.element = _text(value.get("message_template_element"))[:4096]
    return event
