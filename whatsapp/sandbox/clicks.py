"""Click events from the sandbox: `POST /__sandbox/click` (docs/sandbox.md).

The Marketing Messages API reports a click on a message's link as a `user_actions` item on
the `messages` field, with Meta's click id and a tracking token but no phone number or wamid
(docs/whatsapp.md §11.2). The webhook dispatcher remembers the messages it was handed
(`sent.SentMessages`), so a test or a demo can click one by wamid or by phone number; the
token posted is that message's `biz_opaque_callback_data`.
"""

import os
import time

from aiohttp import web

from .core import SANDBOX
from .events import LINK_CLICK, messages_envelope, user_actions_value
from .validation import phone_digits


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _text(body: dict, key: str, limit: int = 128) -> str | None:
    value = body.get(key)
    return value[:limit] if isinstance(value, str) and value else None


async def click(request: web.Request) -> web.Response:
    """`POST /__sandbox/click {"wamid": …}` or `{"to": "+44…"}` (its latest message), with
    optional `action_type` (marketing_messages_link_click by default; landing_page_view or
    any other), `click_component`, `product_id`, `tracking_token` (instead of the message's
    callback data): post the `user_actions` webhook Meta would, with a fresh click id."""
    sb = request.app[SANDBOX]
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _bad("expected a JSON object")
    if sb.dispatcher is None:
        return _bad("webhooks are off (--no-webhooks): nothing to post to", status=409)
    wamid, to = _text(body, "wamid"), body.get("to")
    digits = phone_digits(to.strip()) if isinstance(to, str) else None
    if wamid is None and digits is None:
        return _bad("give the message's 'wamid', or 'to' (a phone number it was sent to)")
    found = sb.dispatcher.sent.find(wamid=wamid, digits=digits)
    if found is None:
        return _bad("no message the sandbox accepted matches", status=404)
    wamid, number, digits, callback = found
    action_type = _text(body, "action_type", 64) or LINK_CLICK
    token = _text(body, "tracking_token", 512) or callback or ""
    click_id = f"sbx.{os.urandom(8).hex()}"
    envelope = messages_envelope(
        waba_id=sb.status_waba_id(),
        phone_number_id=number,
        display_phone_number=sb.config.display_phone_number,
        value=user_actions_value(
            action_type=action_type,
            timestamp=int(time.time()),
            click_id=click_id,
            tracking_token=token,
            click_component=_text(body, "click_component", 32),
            product_id=_text(body, "product_id"),
        ),
    )
    sb.dispatcher.post_event(envelope)
    return web.json_response(
        {"wamid": wamid, "click_id": click_id, "tracking_token": token, "posted": envelope}
    )
