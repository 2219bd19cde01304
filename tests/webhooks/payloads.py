"""Builders for Meta's webhook payloads, shaped as in docs/whatsapp.md §2.3 and §5.3-§5.6."""

import hashlib
import hmac
import json

from whatsapp import callback

OBJECT = "whatsapp_business_account"
T0 = 1764502301  # unix seconds; statuses carry them as strings


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def dumps(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def change(account, value: dict, *, field: str = "messages") -> dict:
    return {
        "field": field,
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": account.display_phone_number,
                "phone_number_id": account.phone_number_id,
            },
            **value,
        },
    }


def envelope(account, value: dict | None = None, *, field: str = "messages", changes=None):
    changes = changes if changes is not None else [change(account, value or {}, field=field)]
    return {"object": OBJECT, "entry": [{"id": account.waba_id, "changes": changes}]}


def status(
    wamid: str,
    state: str,
    *,
    ts: int = T0,
    recipient=None,
    category: str | None = "marketing",
    error_code: int = 131049,
    callback_data: str | None = None,
) -> dict:
    item = {"id": wamid, "status": state, "timestamp": str(ts), "recipient_id": "447700900123"}
    if recipient is not None:
        item["biz_opaque_callback_data"] = callback.encode(recipient.pk)
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    if category and state in ("sent", "delivered"):
        item["pricing"] = {
            "billable": True,
            "pricing_model": "PMP",
            "type": "regular",
            "category": category,
        }
    if state == "failed":
        item["errors"] = [
            {
                "code": error_code,
                "title": "This message was not delivered to maintain healthy ecosystem engagement.",
                "message": "This message was not delivered.",
                "error_data": {"details": "In order to maintain a healthy ecosystem engagement"},
                "href": "/documentation/business-messaging/whatsapp/support/error-codes",
            }
        ]
    return item


def statuses(account, *items) -> dict:
    return envelope(account, {"statuses": list(items)})


def text(account, phone: str, body: str, *, ts: int = T0 + 600, wamid: str = "wamid.IN1"):
    digits = phone.lstrip("+")
    return envelope(
        account,
        {
            "contacts": [{"profile": {"name": "Priya Shah"}, "wa_id": digits}],
            "messages": [
                {
                    "from": digits,
                    "id": wamid,
                    "timestamp": str(ts),
                    "type": "text",
                    "text": {"body": body},
                }
            ],
        },
    )


def button(account, phone: str, context_wamid: str, *, ts: int = T0 + 600, text="Yes please"):
    digits = phone.lstrip("+")
    return envelope(
        account,
        {
            "contacts": [{"profile": {"name": "Priya Shah"}, "wa_id": digits}],
            "messages": [
                {
                    "from": digits,
                    "id": "wamid.BUTTON1",
                    "timestamp": str(ts),
                    "type": "button",
                    "context": {"from": account.display_phone_number, "id": context_wamid},
                    "button": {"payload": "YES", "text": text},
                }
            ],
        },
    )


def user_preferences(account, phone: str, value: str, *, ts: int = T0 + 700) -> dict:
    digits = phone.lstrip("+")
    return envelope(
        account,
        {
            "contacts": [{"wa_id": digits}],
            "user_preferences": [
                {
                    "wa_id": digits,
                    "category": "marketing_messages",
                    "value": value,
                    "detail": f"User requested to {value} marketing messages",
                    "timestamp": ts,
                }
            ],
        },
        field="user_preferences",
    )


def template_update(
    waba_id: str, *, meta_id, name: str, language: str, event: str, title: str = ""
) -> dict:
    value = {
        "event": event,
        "message_template_id": int(meta_id),
        "message_template_name": name,
        "message_template_language": language,
        "message_template_category": "MARKETING",
        "reason": "NONE",
    }
    if title:
        value["other_info"] = {"title": title, "description": "Paused for low quality."}
    return {
        "object": OBJECT,
        "entry": [
            {
                "id": waba_id,
                "time": T0,
                "changes": [{"field": "message_template_status_update", "value": value}],
            }
        ],
    }


def value_error(account, code: int = 130429) -> dict:
    return envelope(
        account,
        {
            "errors": [
                {
                    "code": code,
                    "title": "Rate limit hit",
                    "message": "Rate limit hit",
                    "error_data": {
                        "details": "Too many messages were sent from this number in a short period"
                    },
                    "href": "/documentation/business-messaging/whatsapp/support/error-codes",
                }
            ]
        },
    )
