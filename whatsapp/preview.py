"""A template message as the recipient will see it, with one row's values filled in.

Used by the import preview, the new-campaign page, the template API's preview and the
template page (with the template's examples as values). Returns plain data (a dict of
strings and lists), so a page renders it with auto-escaping and the API returns it as JSON;
a missing value stays visible as its placeholder so the operator notices it.
"""

from __future__ import annotations

import time

from .offers import expiration_ms, format_expiry
from .variables import (
    MEDIA_FORMATS,
    OFFER_COLUMN,
    card_prefix,
    is_named,
    offer_has_expiration,
    substitute,
)

_BUTTON_LABELS = {
    "COPY_CODE": "Copy offer code",
    "OTP": "Copy code",
    "CATALOG": "View catalog",
    "MPM": "View items",
    "SPM": "View",
    "FLOW": "Open",
    "VOICE_CALL": "Call on WhatsApp",
}


def render_preview(
    *,
    components: list[dict],
    parameter_format: str,
    values: dict[str, str],
    now_ms: int | None = None,
) -> dict:
    """{header, media, location, product, body, footer, buttons, offer, cards,
    call_permission}: `header` is the header's text (or "[image]" for a media header);
    `offer` has the offer's text, its expiry and the countdown as WhatsApp shows it; `cards`
    the carousel's cards, side by side on a page."""
    named = is_named(parameter_format)
    preview: dict = {
        "header": None,
        "media": None,
        "location": None,
        "product": None,
        "body": "",
        "footer": None,
        "buttons": [],
        "offer": None,
        "cards": [],
        "call_permission": False,
    }
    for component in components or []:
        ctype = str(component.get("type", "")).upper()
        if ctype in ("HEADER", "BODY", "BUTTONS"):
            _part(preview, component, named, values, "")
        elif ctype == "FOOTER":
            preview["footer"] = component.get("text", "")
        elif ctype == "LIMITED_TIME_OFFER":
            preview["offer"] = _offer(component, values, now_ms)
        elif ctype == "CAROUSEL":
            preview["cards"] = [
                _card(n, card, named, values)
                for n, card in enumerate(component.get("cards") or [], start=1)
            ]
        elif ctype == "CALL_PERMISSION_REQUEST":
            preview["call_permission"] = True
    if preview["offer"] is not None:
        preview["offer"]["code"] = _coupon(components, values)
    return preview


def _part(into: dict, component: dict, named: bool, values: dict, prefix: str) -> None:
    ctype = str(component.get("type", "")).upper()
    if ctype == "BODY":
        into["body"] = substitute(component.get("text", ""), "body", named, _strip(values, prefix))
    elif ctype == "BUTTONS":
        into["buttons"] = [_button_label(b) for b in component.get("buttons") or []]
    else:
        fmt = str(component.get("format", "TEXT")).upper()
        mine = _strip(values, prefix)
        if fmt == "TEXT":
            into["header"] = substitute(component.get("text", ""), "header", named, mine)
            return
        into["header"] = f"[{fmt.lower()}]"
        if fmt in MEDIA_FORMATS:
            into["media"] = {
                "kind": MEDIA_FORMATS[fmt],
                "url": mine.get("header_media_url") or "{{header_media_url}}",
            }
        elif fmt == "LOCATION":
            into["location"] = {
                "latitude": mine.get("header_latitude") or "{{latitude}}",
                "longitude": mine.get("header_longitude") or "{{longitude}}",
                "name": mine.get("header_location_name", ""),
                "address": mine.get("header_location_address", ""),
            }
        elif fmt == "PRODUCT":
            into["product"] = {
                "retailer_id": mine.get("header_product_retailer_id") or "{{product}}",
                "catalog_id": mine.get("header_catalog_id", ""),
            }


def _card(n: int, card: dict, named: bool, values: dict) -> dict:
    shown: dict = {
        "number": n,
        "header": None,
        "media": None,
        "product": None,
        "body": "",
        "buttons": [],
    }
    for component in card.get("components") or []:
        if str(component.get("type", "")).upper() in ("HEADER", "BODY", "BUTTONS"):
            _part(shown, component, named, values, card_prefix(n))
    return shown


def _offer(component: dict, values: dict, now_ms: int | None) -> dict:
    offer = component.get("limited_time_offer") or {}
    shown = {"text": str(offer.get("text", "")), "expires": "", "countdown": "", "code": ""}
    if not offer_has_expiration(component):
        return shown
    ms = expiration_ms(values.get(OFFER_COLUMN) or "")
    if ms is None:
        shown["countdown"] = "Ends {{" + OFFER_COLUMN + "}}"
        return shown
    shown["expires"], shown["countdown"] = format_expiry(
        ms, now_ms if now_ms is not None else int(time.time() * 1000)
    )
    return shown


def _coupon(components: list[dict], values: dict) -> str:
    for component in components or []:
        if str(component.get("type", "")).upper() == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                if str(button.get("type", "")).upper() == "COPY_CODE":
                    return values.get(f"button_{index}_copy_code") or "{{code}}"
    return ""


def _strip(values: dict, prefix: str) -> dict:
    if not prefix:
        return values
    return {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}


def _button_label(button: dict) -> str:
    if button.get("text"):
        return str(button["text"])
    btype = str(button.get("type", "")).upper()
    return _BUTTON_LABELS.get(btype) or btype.replace("_", " ").title()
