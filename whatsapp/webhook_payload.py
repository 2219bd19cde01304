"""Reading Meta's webhook payloads (docs/whatsapp.md §5.3-§5.6 and §2.3) into plain items.

Pure functions, no database. The receiver uses `load` and `identify` to decide whether a POST
is well formed and which account it names; the drain uses `changes` and the item readers to
walk every entry, change, status and message. Anything of the wrong shape *inside* a
well-formed payload is skipped (and counted by the caller), never raised: one odd item must
not stop the rest of the event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from whatsapp import callback
from whatsapp.errors import Action, WhatsAppError, classify

OBJECT = "whatsapp_business_account"
EARLIEST_SECONDS = 1_514_764_800  # 2018-01-01, before the first WhatsApp Business API message
LATEST_AHEAD_SECONDS = 86_400
# The statuses that move a recipient (docs/whatsapp.md §5.4); `played` (voice) and anything newer
# are read but ignored.
KNOWN_STATUSES = frozenset({"sent", "delivered", "read", "failed"})


class MalformedPayload(ValueError):
    """The body is not a webhook payload at all (stored as REJECTED with this reason)."""


@dataclass(slots=True)
class Change:
    field: str
    waba_id: str
    phone_number_id: str
    value: dict
    entry_time: Any = None  # the entry's `time` (unix seconds) as given, for account events


@dataclass(slots=True)
class Failure:
    code: int | None
    title: str
    details: str
    retryable: bool
    retry_after: float | None = None  # seconds: a DEFER (131049: wait at least a day)


@dataclass(slots=True)
class StatusItem:
    wamid: str
    status: str
    timestamp: datetime
    recipient_id: int | None  # from biz_opaque_callback_data
    category: str
    failure: Failure | None
    raw: dict
    # pricing.billable (None when the status says nothing) and pricing.type (regular,
    # free_customer_service, free_entry_point…).
    billable: bool | None = None
    pricing_type: str = ""
    pricing_model: str = ""  # PMP (per message), CBP (per conversation, before July 2025)
    # Filled in by the caller: where the status came from and what it was matched with.
    account_id: Any = None  # the WhatsAppAccount's id, set by the dispatcher
    event_id: int | None = None
    pending_id: int | None = None


@dataclass(slots=True)
class InboundMessage:
    wamid: str
    phone: str  # E.164, "+" and digits
    type: str
    text: str  # a text body or a button's text; "" otherwise
    context_wamid: str
    timestamp: datetime


@dataclass(slots=True)
class Preference:
    phone: str
    category: str
    value: str  # "stop" or "resume"
    detail: str
    timestamp: datetime


@dataclass(slots=True)
class UserActionItem:
    """One `user_actions[]` item: a click event of the Marketing Messages API
    (docs/whatsapp.md §11.2). No phone, no wamid: only Meta's click id and tracking token."""

    action_type: str  # an open set: marketing_messages_link_click, landing_page_view, …
    timestamp: datetime
    click_id: str
    tracking_token: str
    click_component: str  # "cta" or "body" for a link click
    product_id: str
    raw: dict


@dataclass(slots=True)
class TemplateUpdate:
    meta_id: str
    name: str
    language: str
    event: str
    reason: str


@dataclass(slots=True)
class MessagesValue:
    """What one `messages`-style change carries, read."""

    statuses: list[StatusItem] = field(default_factory=list)
    messages: list[InboundMessage] = field(default_factory=list)
    preferences: list[Preference] = field(default_factory=list)
    errors: list[WhatsAppError] = field(default_factory=list)
    user_actions: list[UserActionItem] = field(default_factory=list)
    skipped: int = 0


def load(body: bytes) -> dict:
    """The payload as a dict, or MalformedPayload saying why it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"not JSON: {exc}") from None
    except RecursionError:
        raise MalformedPayload("not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise MalformedPayload("not a JSON object")
    if data.get("object") != OBJECT:
        raise MalformedPayload(f"object is {data.get('object')!r}, not {OBJECT!r}")
    entries = data.get("entry")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise MalformedPayload("entry is not a list of objects")
    return data


def identify(data: dict) -> tuple[set[str], set[str]]:
    """The phone number ids and WABA ids a payload names (to find the signing account)."""
    phone_ids: set[str] = set()
    waba_ids: set[str] = set()
    for change in changes(data):
        if change.phone_number_id:
            phone_ids.add(change.phone_number_id)
        if change.waba_id:
            waba_ids.add(change.waba_id)
    return phone_ids, waba_ids


def changes(data: dict) -> Iterator[Change]:
    """Every change of every entry (Meta batches both, docs/whatsapp.md §5.7)."""
    for entry in data.get("entry") or ():
        if not isinstance(entry, dict):
            continue
        waba_id = _str(entry.get("id"))
        for change in _list(entry.get("changes")):
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                continue
            value = change["value"]
            metadata = value.get("metadata")
            phone_number_id = (
                _str(metadata.get("phone_number_id")) if isinstance(metadata, dict) else ""
            )
            yield Change(
                _str(change.get("field")), waba_id, phone_number_id, value, entry.get("time")
            )


def read_messages_value(value: dict, *, default_time: datetime) -> MessagesValue:
    """Statuses, inbound messages, user preferences, click events (`user_actions`) and
    value-level errors of one change."""
    out = MessagesValue()
    for raw in _list(value.get("statuses")):
        item = read_status(raw, default_time)
        if item is None:
            out.skipped += 1
        else:
            out.statuses.append(item)
    for raw in _list(value.get("messages")):
        message = _message(raw, default_time)
        if message is None:
            out.skipped += 1
        else:
            out.messages.append(message)
    for raw in _list(value.get("user_preferences")):
        pref = _preference(raw, default_time)
        if pref is None:
            out.skipped += 1
        else:
            out.preferences.append(pref)
    for raw in _list(value.get("errors")):
        if isinstance(raw, dict):
            out.errors.append(_error(raw))
        else:
            out.skipped += 1
    for raw in _list(value.get("user_actions")):
        action = read_user_action(raw, default_time)
        if action is None:
            out.skipped += 1
        else:
            out.user_actions.append(action)
    return out


def read_template_update(value: dict) -> TemplateUpdate | None:
    event = _str(value.get("event")).upper()
    if not event:
        return None
    reasons = []
    reason = value.get("reason")
    if reason and str(reason).upper() != "NONE":
        reasons.append(_str(reason))
    for block, key in (("other_info", "title"), ("rejection_info", "reason")):
        info = value.get(block)
        if isinstance(info, dict) and info.get(key):
            reasons.append(_str(info[key]))
    return TemplateUpdate(
        # An integer in this payload (docs/whatsapp.md §2.3), a string in the catalogue.
        meta_id=_str(value.get("message_template_id")),
        name=_str(value.get("message_template_name")),
        language=_str(value.get("message_template_language")),
        event=event,
        reason="; ".join(reasons),
    )


def parse_time(raw, default: datetime) -> datetime:
    """Meta's unix seconds (a string in `messages`, an integer elsewhere), as aware UTC;
    `default` (the event's arrival) for anything else, and for times no real message has: before
    the Cloud API existed or more than a day ahead (the earliest timestamp of a step wins, so a
    `0` would otherwise stick as 1970)."""
    try:
        seconds = int(raw)
    except (TypeError, ValueError, OverflowError):
        return default
    if not EARLIEST_SECONDS <= seconds <= time.time() + LATEST_AHEAD_SECONDS:
        return default
    return datetime.fromtimestamp(seconds, tz=UTC)


def phone_from_wa_id(raw) -> str:
    """E.164 from Meta's digits-only `from` / `wa_id`; "" when it is not a phone number."""
    digits = _str(raw).lstrip("+")
    return f"+{digits}" if digits.isascii() and digits.isdigit() and 6 <= len(digits) <= 15 else ""


def read_status(raw, default_time: datetime) -> StatusItem | None:
    """One `statuses[]` item, or None when it is not a status this app tracks."""
    if not isinstance(raw, dict):
        return None
    wamid, status = _str(raw.get("id")), _str(raw.get("status")).lower()
    if not wamid or len(wamid) > 128 or status not in KNOWN_STATUSES:
        return None
    pricing = raw.get("pricing")
    category, billable, pricing_type, pricing_model = "", None, "", ""
    if isinstance(pricing, dict):
        category = _str(pricing.get("category"))[:40]
        if isinstance(pricing.get("billable"), bool):
            billable = pricing["billable"]
        pricing_type = _str(pricing.get("type"))[:40]
        pricing_model = _str(pricing.get("pricing_model"))[:10]
    failure = None
    if status == "failed":
        errors = [e for e in _list(raw.get("errors")) if isinstance(e, dict)]
        error = _error(errors[0] if errors else {})
        rule = classify(error.code, error.details)
        failure = Failure(
            code=error.code,
            title=(error.title or error.message)[:255],
            details=error.details,
            retryable=rule.retryable,
            retry_after=rule.defer_seconds if rule.action == Action.DEFER else None,
        )
    return StatusItem(
        wamid=wamid,
        status=status,
        timestamp=parse_time(raw.get("timestamp"), default_time),
        recipient_id=callback.decode(raw.get("biz_opaque_callback_data")),
        category=category,
        failure=failure,
        billable=billable,
        pricing_type=pricing_type,
        pricing_model=pricing_model,
        raw=raw,
    )


def read_user_action(raw, default_time: datetime) -> UserActionItem | None:
    """One `user_actions[]` item, or None without an action type. Its details sit under
    `<action_type>_data` (`marketing_messages_link_click_data`, `landing_page_view_data`),
    under some other `…_data` object, or on the item itself: all three are read."""
    if not isinstance(raw, dict):
        return None
    action_type = _str(raw.get("action_type"))[:64]
    if not action_type:
        return None
    data = raw.get(f"{action_type}_data")
    if not isinstance(data, dict):
        data = next(
            (v for k, v in raw.items() if str(k).endswith("_data") and isinstance(v, dict)), {}
        )

    def read(key: str, limit: int) -> str:
        return (_str(data.get(key)) or _str(raw.get(key)))[:limit]

    return UserActionItem(
        action_type=action_type,
        timestamp=parse_time(raw.get("timestamp"), default_time),
        click_id=read("click_id", 128),
        tracking_token=read("tracking_token", 512),
        click_component=read("click_component", 32),
        product_id=read("product_id", 128),
        raw=raw,
    )


def _message(raw, default_time: datetime) -> InboundMessage | None:
    if not isinstance(raw, dict):
        return None
    phone = phone_from_wa_id(raw.get("from"))
    if not phone:
        return None
    kind = _str(raw.get("type"))
    text = ""
    if kind == "text" and isinstance(raw.get("text"), dict):
        text = _str(raw["text"].get("body"))
    elif kind == "button" and isinstance(raw.get("button"), dict):
        text = _str(raw["button"].get("text"))
    context = raw.get("context")
    return InboundMessage(
        wamid=_str(raw.get("id")),
        phone=phone,
        type=kind,
        text=text,
        context_wamid=_str(context.get("id")) if isinstance(context, dict) else "",
        timestamp=parse_time(raw.get("timestamp"), default_time),
    )


def _preference(raw, default_time: datetime) -> Preference | None:
    if not isinstance(raw, dict):
        return None
    phone = phone_from_wa_id(raw.get("wa_id"))
    value = _str(raw.get("value")).lower()
    if not phone or value not in ("stop", "resume"):
        return None
    return Preference(
        phone=phone,
        category=_str(raw.get("category")),
        value=value,
        detail=_str(raw.get("detail")),
        timestamp=parse_time(raw.get("timestamp"), default_time),
    )


def _error(raw: dict) -> WhatsAppError:
    return WhatsAppError.from_error_object(clean_json(raw))


def clean_text(text: str) -> str:
    """`text` as PostgreSQL can store it: NUL characters and unpaired surrogates (both valid in
    JSON, neither in a text column or jsonb) become U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def clean_json(value):
    """A parsed JSON value with every string (keys included) passed through `clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def _str(value) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return clean_text(str(value).strip())


def _list(value) -> list:
    return value if isinstance(value, list) else []
