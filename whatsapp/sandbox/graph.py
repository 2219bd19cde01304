"""Meta's Graph API endpoints as the sandbox serves them: send (through /messages or the
Marketing Messages API), list templates, get one object.

`send_message` is the hot path: no logging, no awaits between the throughput check and the
acceptance, and a response body assembled from bytes rather than re-dumped.
"""

import json
import time

from aiohttp import web

from . import marketing, numbers
from .core import JSON, SANDBOX
from .graph_errors import GraphError
from .validation import validate_send

DEFAULT_PAGE_LIMIT = 25
MAX_PAGE_LIMIT = 1000


async def send_message(request: web.Request) -> web.Response:
    return await _answer(request, marketing_api=False)


async def send_marketing_message(request: web.Request) -> web.Response:
    """`POST /{phone_number_id}/marketing_messages`: the same body plus the MM API's fields."""
    return await _answer(request, marketing_api=True)


async def _answer(request: web.Request, *, marketing_api: bool) -> web.Response:
    sb = request.app[SANDBOX]
    response = await _send_message(sb, request, marketing_api)
    # Meta's time to answer comes after the send is counted: throughput is measured as the
    # requests arrive, so a random (or late-waking) latency never moves or bunches them.
    if sb.config.latency[1]:
        await sb.latency()
    return response


async def _send_message(sb, request: web.Request, marketing_api: bool) -> web.Response:
    number = request.match_info["phone_number_id"]
    try:
        sb.check_auth(request)
        if marketing_api:
            marketing.check_onboarded(sb.marketing_onboarded)
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            raise GraphError(100, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise GraphError(100, "The request body must be a JSON object.")
        # From here to the acceptance nothing awaits: the throughput check cannot go stale.
        now = time.monotonic()
        if sb.ledger.throttled(number, now):
            raise GraphError(
                130429,
                f"Cloud API message throughput has been reached ({sb.config.mps} messages/s "
                "for this phone number).",
            )
        send = validate_send(body, sb.catalogue)
        extras = marketing.validate_marketing(body, send.spec) if marketing_api else None
        sb.forced_failure(send.spec.name)
        behaviour = numbers.behaviour_for(send.digits, sb.config.failing_numbers)
        if behaviour != numbers.OK:
            sb.sync_failure(behaviour, send.to, send.digits)
        if send.digits in sb.ledger.stopped_marketing and send.spec.category == "MARKETING":
            sb.sync_failure(numbers.SYNC_STOPPED_MARKETING, send.to, send.digits)
    except GraphError as exc:
        return sb.error_response(exc)
    wamid = sb.new_wamid()
    sb.ledger.accept(number, send.digits, send.callback, now)
    if extras is not None:
        sb.ledger.accept_marketing(send.digits, *extras)
    sb.last_phone_number_id = number
    accepted = (number, wamid, send.digits, send.callback, send.spec.pricing_category, behaviour)
    status = b"accepted"
    if sb.pacing.get(send.spec.name, 0) > 0:
        # Held by template pacing: no webhook until a release delivers or drops it (§11.3).
        sb.pacing[send.spec.name] -= 1
        sb.held.setdefault(send.spec.name, []).append(accepted)
        status = b"held_for_quality_assessment"
    elif sb.dispatcher is not None:
        sb.dispatcher.message_accepted(*accepted)
    return web.Response(
        body=b"".join(
            (
                b'{"messaging_product":"whatsapp","contacts":[{"input":',
                json.dumps(send.to).encode(),
                b',"wa_id":"',
                send.digits.encode(),
                b'"}],"messages":[{"id":"',
                wamid.encode(),
                b'","message_status":"',
                status,
                b'"}]}',
            )
        ),
        content_type=JSON,
    )


def _csv(value: str | None) -> set[str] | None:
    if not value:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


async def list_templates(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    await sb.latency()
    try:
        sb.check_auth(request)
        query = request.query
        try:
            limit = int(query.get("limit", DEFAULT_PAGE_LIMIT))
        except ValueError:
            raise GraphError(100, "Param limit must be an integer.") from None
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise GraphError(100, f"Param limit must be between 1 and {MAX_PAGE_LIMIT}.")
        statuses = _csv(query.get("status"))
        try:
            data, before, after, has_prev, has_next = sb.catalogue.page(
                limit=limit,
                after=query.get("after"),
                before=query.get("before") if "after" not in query else None,
                statuses={s.upper() for s in statuses} if statuses else None,
                name=query.get("name"),
                language=query.get("language"),
                fields=_csv(query.get("fields")),
            )
        except ValueError:
            raise GraphError(100, "Invalid paging cursor.") from None
    except GraphError as exc:
        return sb.error_response(exc)
    sb.remember_waba(request.match_info["waba_id"])
    out: dict = {"data": data}
    if data:
        paging: dict = {"cursors": {"before": before, "after": after}}
        base = {k: v for k, v in query.items() if k not in ("after", "before")}
        base["limit"] = str(limit)
        if has_next:
            paging["next"] = str(request.url.with_query({**base, "after": after}))
        if has_prev:
            paging["previous"] = str(request.url.with_query({**base, "before": before}))
        out["paging"] = paging
    return web.json_response(out)


async def get_object(request: web.Request) -> web.Response:
    """`GET /{version}/{id}`: a template by id, or else the phone number with that id."""
    sb = request.app[SANDBOX]
    await sb.latency()
    try:
        sb.check_auth(request)
    except GraphError as exc:
        return sb.error_response(exc)
    object_id = request.match_info["object_id"]
    fields = _csv(request.query.get("fields"))
    spec = sb.catalogue.by_id.get(object_id)
    if spec is not None:
        return web.json_response(sb.catalogue.as_meta(spec, fields))
    obj = {
        "id": object_id,
        "display_phone_number": sb.config.display_phone_number,
        "verified_name": "Broadcast Sandbox",
        "quality_rating": "GREEN",
        "code_verification_status": "VERIFIED",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD" if sb.config.mps <= 80 else "HIGH"},
        "whatsapp_business_manager_messaging_limit": "TIER_UNLIMITED",
    }
    obj.update(sb.number)  # what POST /__sandbox/number set
    if fields:
        obj = {k: v for k, v in obj.items() if k in fields or k == "id"}
    return web.json_response(obj)
