"""The `/__sandbox/` endpoints: health, stats, reset, template status changes, inbound messages,
and failure modes (a template whose every send fails, a burst of one error code).

Not part of Meta's API and not authenticated: they are for demos, tests and benchmarks.
"""

import time

from aiohttp import web

from . import numbers
from .core import SANDBOX
from .events import (
    inbound_value,
    messages_envelope,
    template_status_envelope,
    user_preferences_envelope,
)
from .graph_errors import DEFAULT_DETAILS, ERRORS
from .validation import phone_digits

TEMPLATE_STATUSES = frozenset(
    {"APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL", "PENDING_DELETION",
     "DELETED", "FLAGGED", "REINSTATED", "LIMIT_EXCEEDED", "ARCHIVED", "UNARCHIVED", "LOCKED"}
)  # fmt: skip
# Events that leave the template in another catalogue status than their own name.
EVENT_TO_STATUS = {"REINSTATED": "APPROVED", "UNARCHIVED": "APPROVED", "FLAGGED": "APPROVED"}


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_body(request: web.Request) -> dict | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def health(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    cfg = sb.config
    return web.json_response(
        {
            "status": "ok",
            "uptime_s": round(time.time() - sb.started, 3),
            "mps": cfg.mps,
            "webhooks": cfg.webhooks_enabled,
            "webhook_url": cfg.webhook_url if cfg.webhooks_enabled else None,
            "failing_numbers": cfg.failing_numbers,
            "templates": len(sb.catalogue.specs),
        }
    )


async def stats(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    query = request.query
    digits = None
    if "recipient" in query:
        digits = phone_digits(query["recipient"].strip())
        if digits is None:
            return _bad("recipient must be a phone number")
    out = sb.ledger.snapshot(
        recipient_digits=digits,
        detail=query.get("detail") in ("1", "true", "yes"),
        timeline=query.get("timeline") in ("1", "true", "yes"),
    )
    out["webhooks"] = (
        sb.dispatcher.snapshot() if sb.dispatcher is not None else {"enabled": False, "idle": True}
    )
    out["known_waba_ids"] = list(sb.known_wabas)
    return web.json_response(out)


async def reset(request: web.Request) -> web.Response:
    request.app[SANDBOX].reset()
    return web.json_response({"reset": True})


async def template_status(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    body = await _json_body(request)
    if body is None:
        return _bad("expected a JSON object")
    event = str(body.get("status", "")).upper()
    if event not in TEMPLATE_STATUSES:
        return _bad(f"status must be one of {sorted(TEMPLATE_STATUSES)}")
    name = request.match_info["name"]
    specs = sb.catalogue.named(name, body.get("language"))
    if not specs:
        return _bad(f"no template {name!r} in the catalogue", status=404)
    new_status = EVENT_TO_STATUS.get(event, event)
    wabas = [body["waba_id"]] if body.get("waba_id") else sb.template_waba_ids()
    changed, posted = [], 0
    for spec in specs:
        previous, spec.status = spec.status, new_status
        changed.append(
            {
                "id": spec.id,
                "name": spec.name,
                "language": spec.language,
                "status": spec.status,
                "previous_status": previous,
            }
        )
        if sb.dispatcher is None:
            continue
        for waba_id in wabas:
            sb.dispatcher.post_event(
                template_status_envelope(
                    waba_id=waba_id,
                    timestamp=int(time.time()),
                    template_id=spec.id,
                    name=spec.name,
                    language=spec.language,
                    category=spec.category,
                    event=event,
                    previous=previous,
                    reason=body.get("reason", "NONE"),
                )
            )
            posted += 1
    return web.json_response({"templates": changed, "webhooks_queued": posted})


BURST_MAX = 1_000_000


def _code(body: dict) -> int | None:
    code = body.get("code")
    if isinstance(code, bool) or not isinstance(code, int) or code not in ERRORS:
        return None
    return code


async def template_failure(request: web.Request) -> web.Response:
    """`POST /__sandbox/templates/{name}/fail {"code": 132012, "details"?}`: every send of the
    template fails with that code (a broken mapping); `{"code": null}` ends it."""
    sb = request.app[SANDBOX]
    body = await _json_body(request)
    if body is None:
        return _bad("expected a JSON object")
    name = request.match_info["name"]
    if not sb.catalogue.named(name, None):
        return _bad(f"no template {name!r} in the catalogue", status=404)
    if body.get("code") is None:
        sb.ledger.template_failures.pop(name, None)
        return web.json_response({"template": name, "failing": None})
    code = _code(body)
    if code is None:
        return _bad(f"code must be one of {sorted(ERRORS)}")
    details = str(body.get("details") or DEFAULT_DETAILS.get(code, ERRORS[code][0]))[:500]
    sb.ledger.template_failures[name] = (code, details)
    return web.json_response({"template": name, "failing": {"code": code, "details": details}})


async def burst(request: web.Request) -> web.Response:
    """`POST /__sandbox/burst {"code": 131049, "count": 50}`: the next `count` sends (any
    number, any template) fail with that code; `{"count": 0}` ends a burst."""
    sb = request.app[SANDBOX]
    body = await _json_body(request)
    if body is None:
        return _bad("expected a JSON object")
    count = body.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= BURST_MAX:
        return _bad(f"count must be a whole number from 0 to {BURST_MAX}")
    if count == 0:
        sb.ledger.burst = []
        return web.json_response({"burst": None})
    code = _code(body)
    if code is None:
        return _bad(f"code must be one of {sorted(ERRORS)}")
    sb.ledger.burst = [code, count]
    return web.json_response({"burst": {"code": code, "count": count}})


async def inbound(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    body = await _json_body(request)
    if body is None:
        return _bad("expected a JSON object")
    sender = body.get("from")
    wa_id = phone_digits(sender.strip()) if isinstance(sender, str) else None
    if wa_id is None:
        return _bad("'from' must be a phone number")
    number = body.get("phone_number_id") or sb.last_phone_number_id
    if not number:
        return _bad("'phone_number_id' is required (no send has named one yet)")
    number, now = str(number), int(time.time())
    wamid = sb.new_wamid()
    preference = body.get("preference")
    button = body.get("button") if isinstance(body.get("button"), dict) else {}
    if preference is not None:
        if preference not in ("stop", "resume"):
            return _bad("'preference' must be 'stop' or 'resume'")
        if preference == "stop":
            sb.ledger.stopped_marketing.add(wa_id)
        else:
            sb.ledger.stopped_marketing.discard(wa_id)
        envelope = user_preferences_envelope(
            waba_id=sb.status_waba_id(),
            phone_number_id=number,
            display_phone_number=sb.config.display_phone_number,
            wa_id=wa_id,
            value=preference,
            timestamp=now,
        )
    else:
        payload = button.get("payload", body.get("button_payload"))
        if payload is None and not isinstance(body.get("text"), str):
            return _bad("give 'text', a 'button' {payload, text}, or a 'preference'")
        envelope = messages_envelope(
            waba_id=sb.status_waba_id(),
            phone_number_id=number,
            display_phone_number=sb.config.display_phone_number,
            value=inbound_value(
                wa_id=wa_id,
                wamid=wamid,
                timestamp=now,
                name=str(body.get("name") or "Sandbox User"),
                text=body.get("text"),
                button_payload=payload,
                button_text=button.get("text", body.get("button_text")),
                context_wamid=body.get("context_wamid"),
                context_from=sb.config.display_phone_number,
            ),
        )
    if sb.dispatcher is not None:
        sb.dispatcher.post_event(envelope)
    return web.json_response(
        {"message_id": wamid, "webhook_queued": sb.dispatcher is not None, "payload": envelope}
    )


# --- account health: the number's state and account events (docs/sandbox.md) ----------------

NUMBER_KEYS = {
    "quality_rating": {"GREEN", "YELLOW", "RED", "UNKNOWN"},
    "throughput": {"STANDARD", "HIGH"},
    "messaging_limit": {
        "TIER_50",
        "TIER_250",
        "TIER_1K",
        "TIER_2K",
        "TIER_10K",
        "TIER_100K",
        "TIER_UNLIMITED",
    },  # noqa: E501
}
MM_ONBOARDED = "marketing_messages_onboarded"
EVENT_FIELDS = {
    "account_update",
    "phone_number_quality_update",
    "business_capability_update",
    "message_template_quality_update",
    "template_category_update",
    "message_template_components_update",
    # Fields Broadcast acknowledges and counts, for trying that out.
    "calls",
    "message_echoes",
    "smb_message_echoes",
    "flows",
    "account_alerts",
    "history",
}


async def number_state(request: web.Request) -> web.Response:
    """`POST /__sandbox/number {"quality_rating": "RED", "throughput": "HIGH",
    "messaging_limit": "TIER_10K"}`: what GET /{phone-number-id} reports from now on.
    `"marketing_messages_onboarded": false` makes /marketing_messages answer 134100 (terms
    not accepted) until it is set true again or the sandbox is reset."""
    sb = request.app[SANDBOX]
    body = await _json_body(request)
    if body is None:
        return _bad("expected a JSON object")
    onboarded = body.pop(MM_ONBOARDED, None)
    if onboarded is not None and not isinstance(onboarded, bool):
        return _bad(f"{MM_ONBOARDED} must be true or false")
    for key, value in body.items():
        allowed = NUMBER_KEYS.get(key)
        if allowed is None:
            keys = sorted([*NUMBER_KEYS, MM_ONBOARDED])
            return _bad(f"unknown key {str(key)[:40]!r}; one of {keys}")
        if str(value).upper() not in allowed:
            return _bad(f"{key} must be one of {sorted(allowed)}")
    for key, value in body.items():
        value = str(value).upper()
        if key == "throughput":
            sb.number["throughput"] = {"level": value}
        elif key == "messaging_limit":
            sb.number["whatsapp_business_manager_messaging_limit"] = value
        else:
            sb.number[key] = value
    if onboarded is not None:
        sb.marketing_onboarded = onboarded
    return web.json_response({"number": sb.number, MM_ONBOARDED: sb.marketing_onboarded})


async def account_event(request: web.Request) -> web.Response:
    """`POST /__sandbox/account_event {"field": "account_update", "value": {...}}`: post one
    webhook of that field, as Meta would (signed, entry[].id the WABA, `time` now or
    `"time"`), to the installation's receiver. The value is sent as given: Meta's documented
    shapes are in docs/sandbox.md."""
    sb = request.app[SANDBOX]
    body = await _json_body(request)
    if body is None:
        return _bad("expected a JSON object")
    field = str(body.get("field", ""))
    if field not in EVENT_FIELDS:
        return _bad(f"field must be one of {sorted(EVENT_FIELDS)}")
    value = body.get("value")
    if not isinstance(value, dict):
        return _bad("value must be a JSON object")
    if sb.dispatcher is None:
        return _bad("webhooks are off (--no-webhooks): nothing to post to", status=409)
    at = body.get("time")
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": str(body.get("waba_id") or sb.status_waba_id()),
                "time": int(at) if isinstance(at, int) else int(time.time()),
                "changes": [{"value": value, "field": field}],
            }
        ],
    }
    sb.dispatcher.post_event(envelope)
    return web.json_response({"posted": envelope})


async def template_pace(request: web.Request) -> web.Response:
    """`POST /__sandbox/templates/{name}/pace {"hold": 50}`: Meta's template pacing (§11.3):
    the next `hold` sends of the template are accepted as `held_for_quality_assessment`, with no
    webhook until a release."""
    sb = request.app[SANDBOX]
    body = await _json_body(request)
    hold = body.get("hold") if body is not None else None
    if not isinstance(hold, int) or isinstance(hold, bool) or not 0 <= hold <= 1_000_000:
        return _bad("hold must be a number of sends, 0 to 1,000,000")
    name = request.match_info["name"]
    if not sb.catalogue.named(name, None):
        return _bad(f"no template {name!r} in the catalogue", status=404)
    sb.pacing[name] = hold
    return web.json_response({"template": name, "hold": hold, "held": len(sb.held.get(name, []))})


async def template_release(request: web.Request) -> web.Response:
    """`POST /__sandbox/templates/{name}/release {"outcome": "deliver" | "drop"}`: Meta's
    verdict on the held sends: delivered as usual, or dropped (a `failed` status, 132015)."""
    sb = request.app[SANDBOX]
    body = await _json_body(request)
    outcome = body.get("outcome") if body is not None else None
    if outcome not in ("deliver", "drop"):
        return _bad('outcome must be "deliver" or "drop"')
    name = request.match_info["name"]
    held = sb.held.pop(name, [])
    sb.pacing.pop(name, None)
    if sb.dispatcher is not None:
        for number, wamid, digits, callback, category, behaviour in held:
            if outcome == "drop":
                behaviour = numbers.HELD_DROPPED
            sb.dispatcher.message_accepted(number, wamid, digits, callback, category, behaviour)
    return web.json_response({"template": name, "released": len(held), "outcome": outcome})
