"""Validate a `POST /{phone_number_id}/messages` body the way Meta does, against the catalogue.

`validate_send(body, catalogue)` returns a `Send` or raises `GraphError` with Meta's code and a
details string in Meta's wording where it is known. The checks, in order: messaging_product,
`to`, type, template name+language (132001), template status (132015/132016/132001), then the
components: header (text count, media presence and kind: 132012), body (count: 132000, named
parameters: 100/132000, length: 100, newlines/tabs/5+ spaces: 132018), buttons (index, sub
type, suffix/coupon presence: 131008), and `biz_opaque_callback_data` (512 chars: 100).
"""

from dataclasses import dataclass

from .catalogue import MEDIA_FORMATS, Catalogue, TemplateSpec
from .graph_errors import GraphError
from .validation_shapes import check_action, check_offer, check_product

# Length limits (docs/whatsapp.md §1.2, §1.6; pywa's docstrings for the ones Meta's pages omit).
MAX_BODY_PARAM = 1024
MAX_HEADER_PARAM = 60
MAX_URL_SUFFIX = 2000
MAX_COUPON = 15
MAX_PAYLOAD = 128
MAX_OTP = 15
MAX_CALLBACK = 512
MAX_FILENAME = 240

_DROP = str.maketrans("", "", " ()-.")
_NON_TEMPLATE_TYPES = frozenset(
    {"text", "image", "video", "audio", "document", "sticker", "location", "contacts",
     "interactive", "reaction"}
)  # fmt: skip
_TEXT_PARAM_TYPES = frozenset({"text", "currency", "date_time"})
_SUB_TYPES = {
    "URL": "url",
    "OTP": "url",
    "QUICK_REPLY": "quick_reply",
    "COPY_CODE": "copy_code",
    "CATALOG": "catalog",
    "MPM": "mpm",
    "FLOW": "flow",
}
_ACTION_SUB_TYPES = frozenset({"catalog", "mpm", "flow"})


@dataclass(slots=True)
class Send:
    to: str
    digits: str  # the wa_id: `to` without "+", spaces, dashes, dots and parentheses
    spec: TemplateSpec
    callback: str | None


def phone_digits(to: str) -> str | None:
    """'+44 7700-900123' -> '447700900123'; None when it does not look like a phone number."""
    core = to[1:] if to[:1] == "+" else to
    digits = core.translate(_DROP)
    if 7 <= len(digits) <= 15 and digits.isascii() and digits.isdigit():
        return digits
    return None


def validate_send(body: dict, catalogue: Catalogue) -> Send:
    if body.get("messaging_product") != "whatsapp":
        if "messaging_product" not in body:
            raise GraphError(100, "The parameter messaging_product is required.")
        raise GraphError(100, "Param messaging_product must be 'whatsapp'.")
    to = body.get("to")
    if not to:
        raise GraphError(100, "The parameter to is required.")
    if not isinstance(to, str) or (digits := phone_digits(to)) is None:
        raise GraphError(131009, f"Parameter 'to' is not a valid phone number: {to!r}")
    kind = body.get("type", "text")
    if kind != "template":
        if kind in _NON_TEMPLATE_TYPES:
            raise GraphError(
                131047,
                "Message failed to send because more than 24 hours have passed since the "
                "customer last replied to this number.",
            )
        raise GraphError(100, f"Param type must be one of the supported message types: {kind!r}")
    template = body.get("template")
    if not isinstance(template, dict):
        raise GraphError(100, "The parameter template is required.")
    name = template.get("name")
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(name, str) or not name:
        raise GraphError(100, "The parameter template['name'] is required.")
    if not isinstance(code, str) or not code:
        raise GraphError(100, "The parameter template['language']['code'] is required.")
    spec = catalogue.specs.get((name, code))
    if spec is None:
        raise GraphError(132001, f"template name ({name}) does not exist in {code}")
    if spec.status != "APPROVED":
        if spec.status == "PAUSED":
            raise GraphError(132015, f"Template {name} ({code}) is paused due to low quality.")
        if spec.status == "DISABLED":
            raise GraphError(132016, f"Template {name} ({code}) has been disabled.")
        raise GraphError(
            132001, f"template name ({name}) is not approved in {code} (status {spec.status})"
        )
    callback = body.get("biz_opaque_callback_data")
    if callback is not None:
        if not isinstance(callback, str):
            raise GraphError(100, "Param biz_opaque_callback_data must be a string.")
        if len(callback) > MAX_CALLBACK:
            raise GraphError(
                100, f"Param biz_opaque_callback_data must be at most {MAX_CALLBACK} characters."
            )
    _check_components(template.get("components"), spec)
    return Send(to=to, digits=digits, spec=spec, callback=callback)


def _check_components(components, spec: TemplateSpec) -> None:
    if components is None:
        components = ()
    elif not isinstance(components, list):
        raise GraphError(100, "Param template['components'] must be an array.")
    parts = _split(components, ("body", "header", "button", "limited_time_offer", "carousel"))
    _check_header(parts.get("header"), spec)
    _check_text_params("body", parts.get("body"), spec.body_params, spec, MAX_BODY_PARAM)
    check_offer(parts.get("limited_time_offer"), spec.offer_expiration)
    _check_buttons(parts["buttons"], spec.buttons, spec.required_buttons, spec)
    _check_carousel(parts.get("carousel"), spec)


def _split(components, allowed: tuple[str, ...]) -> dict:
    parts: dict = {"buttons": {}}
    for comp in components:
        if not isinstance(comp, dict):
            raise GraphError(100, "Each template component must be an object.")
        ctype = str(comp.get("type", "")).lower()
        if ctype not in allowed:
            raise GraphError(100, f"Unsupported template component type: {ctype!r}")
        if ctype == "button":
            index = comp.get("index")
            if isinstance(index, str) and index.isdigit():
                index = int(index)
            if not isinstance(index, int) or isinstance(index, bool):
                raise GraphError(100, "Param index of a button component must be an integer.")
            if index in parts["buttons"]:
                raise GraphError(100, f"buttons: Button at index {index} is given twice.")
            parts["buttons"][index] = comp
        elif ctype in parts:
            raise GraphError(100, f"{ctype}: the component is given twice.")
        else:
            parts[ctype] = comp
    return parts


def _check_buttons(given: dict, buttons: dict, required: tuple[int, ...], spec) -> None:
    for index, comp in given.items():
        _check_button(index, comp, buttons, spec)
    for index in required:
        if index not in given:
            kind = _SUB_TYPES[buttons[index].type].capitalize()
            raise GraphError(
                131008, f"buttons: Button at index {index} of type {kind} requires a parameter"
            )


def _check_carousel(comp: dict | None, spec: TemplateSpec) -> None:
    if comp is None:
        if spec.cards:
            # What Meta answers when cards are missing (Kapso's notes, docs/whatsapp.md §11.1).
            raise GraphError(132012, "header component parameter should not be empty")
        return
    if not spec.cards:
        raise GraphError(100, "carousel: the template has no carousel")
    cards = comp.get("cards")
    if not isinstance(cards, list) or len(cards) != len(spec.cards):
        raise GraphError(132012, "header component parameter should not be empty")
    seen = set()
    for card in cards:
        index = card.get("card_index") if isinstance(card, dict) else None
        if not isinstance(index, int) or isinstance(index, bool):
            raise GraphError(100, "carousel: each card needs an integer card_index")
        if not 0 <= index < len(spec.cards) or index in seen:
            raise GraphError(131009, f"carousel: card_index {index} is not valid")
        seen.add(index)
        inner = card.get("components")
        if not isinstance(inner, list):
            raise GraphError(100, f"carousel: card {index} needs components")
        _check_card(index, _split(inner, ("body", "header", "button")), spec.cards[index], spec)


def _check_card(index: int, parts: dict, card, spec: TemplateSpec) -> None:
    where = f"carousel card {index} header"
    params = _params(where, parts.get("header"))
    if len(params) != 1:
        raise GraphError(132012, f"{where}: Format mismatch, expected {card.header_format}")
    if card.header_format == "PRODUCT":
        check_product(where, params[0])
    else:
        _check_media(where, card.header_format, params[0])
    body_where = f"carousel card {index} body"
    _check_text_params(body_where, parts.get("body"), card.body_params, spec, MAX_BODY_PARAM)
    _check_buttons(parts["buttons"], card.buttons, card.required_buttons, spec)


def _params(where: str, comp: dict | None) -> list:
    if comp is None:
        return []
    params = comp.get("parameters", [])
    if not isinstance(params, list):
        raise GraphError(100, f"{where}: Param parameters must be an array.")
    for p in params:
        if not isinstance(p, dict):
            raise GraphError(100, f"{where}: each parameter must be an object.")
    return params


def _check_text_params(
    where: str, comp: dict | None, expected: tuple[str, ...], spec: TemplateSpec, max_len: int
) -> None:
    params = _params(where, comp)
    if len(params) != len(expected):
        raise GraphError(
            132000,
            f"{where}: number of localizable_params ({len(params)}) does not match the "
            f"expected number of params ({len(expected)})",
        )
    names = []
    for i, p in enumerate(params, 1):
        ptype = p.get("type")
        if ptype not in _TEXT_PARAM_TYPES:
            raise GraphError(
                132012, f"{where}: Format mismatch, expected TEXT, received {str(ptype).upper()}"
            )
        pname = p.get("parameter_name")
        if spec.named:
            if not pname or not isinstance(pname, str):
                raise GraphError(
                    100, f"{where}: parameter {i} needs a parameter_name (template uses NAMED)"
                )
            names.append(pname)
        elif pname is not None:
            raise GraphError(
                100, f"{where}: parameter_name is not supported by POSITIONAL templates"
            )
        # currency and date_time parameters show their fallback value on Cloud API
        if ptype == "text":
            value = p.get("text")
        else:
            obj = p.get(ptype)
            value = obj.get("fallback_value") if isinstance(obj, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise GraphError(131008, f"{where}: parameter {pname or i} has no text")
        if len(value) > max_len:
            raise GraphError(
                100,
                f"{where}: Param text cannot have more than {max_len} characters "
                f"(parameter {pname or i} has {len(value)})",
            )
        if "\n" in value or "\t" in value or "     " in value:
            raise GraphError(
                132018,
                f"{where}: Param text cannot have new-line/tab characters or more than 4 "
                f"consecutive spaces (parameter {pname or i})",
            )
    if spec.named and set(names) != set(expected):
        unknown = sorted(set(names) - set(expected))
        missing = sorted(set(expected) - set(names))
        raise GraphError(
            132000,
            f"{where}: parameter names do not match the template: "
            f"unknown {unknown}, missing {missing}",
        )
    if spec.named and len(set(names)) != len(names):
        raise GraphError(132000, f"{where}: a parameter_name is given twice")


def _check_header(comp: dict | None, spec: TemplateSpec) -> None:
    fmt = spec.header_format
    if fmt is None or fmt == "TEXT":
        _check_text_params("header", comp, spec.header_params, spec, MAX_HEADER_PARAM)
        return
    params = _params("header", comp)
    if not params:
        raise GraphError(132012, f"header: Format mismatch, expected {fmt}, received UNKNOWN")
    if len(params) != 1:
        raise GraphError(
            132000,
            f"header: number of localizable_params ({len(params)}) does not match the "
            "expected number of params (1)",
        )
    p = params[0]
    ptype = str(p.get("type", "")).lower()
    if fmt in MEDIA_FORMATS:
        _check_media("header", fmt, p)
    elif fmt == "PRODUCT":
        check_product("header", p)
    elif fmt == "LOCATION":
        loc = p.get("location") if ptype == "location" else None
        if not isinstance(loc, dict) or "latitude" not in loc or "longitude" not in loc:
            raise GraphError(131008, "header: location needs latitude and longitude")


def _check_media(where: str, fmt, p: dict) -> None:
    ptype = str(p.get("type", "")).lower()
    if ptype != str(fmt).lower():
        raise GraphError(
            132012, f"{where}: Format mismatch, expected {fmt}, received {ptype.upper()}"
        )
    media = p.get(ptype)
    if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
        raise GraphError(131008, f"{where}: {ptype} needs an id or a link")
    link = media.get("link")
    if link and (not isinstance(link, str) or not link.startswith(("https://", "http://"))):
        raise GraphError(131009, f"{where}: {ptype} link is not a valid http(s) URL")
    filename = media.get("filename")
    if filename is not None and (not isinstance(filename, str) or len(filename) > MAX_FILENAME):
        raise GraphError(100, f"{where}: filename must be at most {MAX_FILENAME} characters")


def _check_button(index: int, comp: dict, buttons: dict, spec: TemplateSpec) -> None:
    button = buttons.get(index)
    if button is None:
        raise GraphError(131009, f"buttons: Button at index {index} does not exist in template")
    sub_type = str(comp.get("sub_type", "")).lower()
    # An authentication template's OTP button takes its code as a URL-button parameter.
    expected = _SUB_TYPES.get(button.type)
    if expected is None:
        raise GraphError(
            100, f"buttons: Button at index {index} of type {button.type} takes no parameters"
        )
    if sub_type != expected:
        raise GraphError(
            131009,
            f"buttons: Button at index {index} is of type {expected}, received {sub_type!r}",
        )
    params = _params("buttons", comp)
    if sub_type in _ACTION_SUB_TYPES:
        check_action(index, sub_type, params, button.needs_param)
        return
    if sub_type == "url":
        if not button.needs_param:
            if params:
                raise GraphError(
                    132000,
                    f"buttons: number of localizable_params ({len(params)}) does not match the "
                    "expected number of params (0)",
                )
            return
        value = params[0].get("text") if len(params) == 1 else None
        if len(params) > 1:
            raise GraphError(132000, f"buttons: Button at index {index} takes one parameter")
        if not isinstance(value, str) or not value:
            raise GraphError(
                131008, f"buttons: Button at index {index} of type Url requires a parameter"
            )
        limit = MAX_OTP if button.type == "OTP" else MAX_URL_SUFFIX
        if len(value) > limit:
            raise GraphError(100, f"buttons: URL parameter must be at most {limit} characters")
    elif sub_type == "copy_code":
        value = params[0].get("coupon_code") if len(params) == 1 else None
        if not isinstance(value, str) or not value:
            raise GraphError(
                131008, f"buttons: Button at index {index} of type Copy_code requires a parameter"
            )
        if len(value) > MAX_COUPON:
            raise GraphError(100, f"buttons: coupon_code must be at most {MAX_COUPON} characters")
    else:  # quick_reply: the payload is optional
        for p in params:
            payload = p.get("payload")
            if p.get("type") != "payload" or not isinstance(payload, str):
                raise GraphError(100, f"buttons: Button at index {index} needs a payload")
            if len(payload) > MAX_PAYLOAD:
                raise GraphError(100, f"buttons: payload must be at most {MAX_PAYLOAD} characters")
