"""Builders for the webhook payloads Meta posts (docs/whatsapp.md §2.3, §5.3-§5.6).

Pure functions from plain values to dicts: status items, the `messages` envelope, inbound
text and quick-reply messages, `user_preferences` and `message_template_status_update`.
"""

from .graph_errors import async_error

# status item tuple fields, as the dispatcher queues them (tuples are cheaper than dicts)
WAMID, STATUS, TIMESTAMP, RECIPIENT, CALLBACK, CATEGORY, ERROR_CODE = range(7)


def status_item(item: tuple) -> dict:
    wamid, status, timestamp, recipient_id, callback, category, error_code = item
    out = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": recipient_id,
    }
    if callback is not None:
        out["biz_opaque_callback_data"] = callback
    if status in ("sent", "delivered"):
        out["pricing"] = {
            "billable": True,
            "pricing_model": "PMP",
            "type": "regular",
            "category": category,
        }
    elif status == "failed":
        out["errors"] = [async_error(error_code)]
    return out


def messages_envelope(
    *, waba_id: str, phone_number_id: str, display_phone_number: str, value: dict
) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def statuses_value(items: list[tuple]) -> dict:
    return {"statuses": [status_item(i) for i in items]}


def inbound_value(
    *,
    wa_id: str,
    wamid: str,
    timestamp: int,
    name: str,
    text: str | None = None,
    button_payload: str | None = None,
    button_text: str | None = None,
    context_wamid: str | None = None,
    context_from: str | None = None,
) -> dict:
    message: dict = {"from": wa_id, "id": wamid, "timestamp": str(timestamp)}
    if context_wamid:
        message["context"] = {"from": context_from, "id": context_wamid}
    if button_payload is not None:
        message["type"] = "button"
        message["button"] = {"payload": button_payload, "text": button_text or button_payload}
    else:
        message["type"] = "text"
        message["text"] = {"body": text or ""}
    return {
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [message],
    }


def user_preferences_envelope(
    *,
    waba_id: str,
    phone_number_id: str,
    display_phone_number: str,
    wa_id: str,
    value: str,
    timestamp: int,
) -> dict:
    detail = (
        "User requested to stop marketing messages"
        if value == "stop"
        else "User requested to resume marketing messages"
    )
    envelope = messages_envelope(
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        value={
            "contacts": [{"wa_id": wa_id}],
            "user_preferences": [
                {
                    "wa_id": wa_id,
                    "category": "marketing_messages",
                    "value": value,
                    "detail": detail,
                    "timestamp": timestamp,
                }
            ],
        },
    )
    envelope["entry"][0]["changes"][0]["field"] = "user_preferences"
    return envelope


PAUSE_INFO = {
    "PAUSED": ("FIRST_PAUSE", "Your template has been paused for 3 hours due to low quality."),
    "UNPAUSE": ("UNPAUSE", "Your template is no longer paused."),
}


def template_status_envelope(
    *,
    waba_id: str,
    timestamp: int,
    template_id: str,
    name: str,
    language: str,
    category: str,
    event: str,
    previous: str | None = None,
    reason: str | None = "NONE",
) -> dict:
    value: dict = {
        "event": event,
        "message_template_id": int(template_id),
        "message_template_name": name,
        "message_template_language": language,
        "message_template_category": category,
        "reason": reason,
    }
    if event == "PAUSED":
        title, description = PAUSE_INFO["PAUSED"]
        value["other_info"] = {"title": title, "description": description}
    elif previous == "PAUSED" and event in ("APPROVED", "REINSTATED"):
        title, description = PAUSE_INFO["UNPAUSE"]
        value["other_info"] = {"title": title, "description": description}
    elif event == "DISABLED":
        value["disable_info"] = {"disable_date": timestamp}
        value["other_info"] = {"title": "DISABLED", "description": "Template disabled."}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "time": timestamp,
                "changes": [{"field": "message_template_status_update", "value": value}],
            }
        ],
    }


LINK_CLICK = "marketing_messages_link_click"


def user_actions_value(
    *,
    action_type: str,
    timestamp: int,
    click_id: str,
    tracking_token: str,
    click_component: str | None = None,
    product_id: str | None = None,
) -> dict:
    """A click event of the Marketing Messages API (docs/whatsapp.md §11.2): the details
    under `<action_type>_data`; a link click also names the component (and a product)."""
    data: dict = {}
    if action_type == LINK_CLICK:
        data["click_component"] = click_component or "cta"
        if product_id:
            data["product_id"] = product_id
    data |= {"click_id": click_id, "tracking_token": tracking_token}
    return {
        "user_actions": [
            {"action_type": action_type, "timestamp": str(timestamp), f"{action_type}_data": data}
        ]
    }
