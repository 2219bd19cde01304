"""A template's variables: the one place that turns Meta's template components into the
ordered list of values a recipient needs (and so the spreadsheet columns).

The sample spreadsheet, the importer, the preview (`whatsapp.preview`) and the payload
builder (`whatsapp.payload`) all read this list, so a column name or a limit is decided here
once. Components are in the shape `GET /<WABA_ID>/message_templates` returns
(docs/whatsapp.md §2.2, §11.1; docs/templates.md lists every shape and its columns): reading
them is Cloud API knowledge, so it lives in `whatsapp`, below the catalogue app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Protocol

PHONE_COLUMNS = ("country_code", "phone_number")

# Meta's limits on send-time values. Meta rejects over-length values with 100/132005, and
# one bad row must not pause a campaign, so the importer refuses them up front.
# Body: Meta caps the whole body at 1024 chars (docs/whatsapp.md has no per-parameter figure);
# 1024 per parameter is the conservative limit we can check without hydrating the text.
BODY_TEXT_MAX = 1024
# Header: 60 chars for header text (Meta's template-component limits).
HEADER_TEXT_MAX = 60
# URL button suffix: 2000 chars (docs/whatsapp.md §1.2, from pywa's validation).
URL_SUFFIX_MAX = 2000
# Copy code: 15 chars (docs/whatsapp.md §1.2 / §9.7, pywa docstring citing Meta; UNCONFIRMED).
COPY_CODE_MAX = 15
# Quick-reply payload: 128 chars is the commonly quoted limit; UNCONFIRMED in docs/whatsapp.md.
PAYLOAD_MAX = 128
# Authentication (OTP) codes: 15 chars, like copy codes (UNCONFIRMED in docs/whatsapp.md).
OTP_CODE_MAX = 15
# Product retailer ids (SKUs): Meta's catalogs cap retailer_id at 100 characters.
PRODUCT_ID_MAX = 100
CATALOG_ID_MAX = 32
# Location name and address, flow token and flow data: Meta documents no limit; these bounds
# keep a cell sane.
LOCATION_TEXT_MAX = 1000
FLOW_TOKEN_MAX = 1000
FLOW_DATA_MAX = 10_000

MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}

OFFER_COLUMN = "offer_expiration_time"

_POSITIONAL = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_NAMED = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Variable:
    column: str
    component: str  # "header" | "body" | "button" | "offer"
    # text | image | video | document | url | copy_code | payload | latitude | longitude |
    # location_name | location_address | product_id | catalog_id | sections | flow_token |
    # flow_data | expiration | destination (a tracked link's target, docs/clicks.md)
    kind: str
    position: int | None = None  # the n of {{n}} for positional text
    name: str | None = None  # the parameter name for named templates
    button_index: int | None = None  # 0-based position in its BUTTONS array
    required: bool = True
    example: str = ""
    max_length: int | None = None
    card: int | None = None  # the carousel card (from 1) the variable belongs to


def is_named(parameter_format: str | None) -> bool:
    return (parameter_format or "").upper() == "NAMED"


def placeholders(text: str, *, named: bool) -> list[str]:
    """The distinct placeholders of `text`: names in order of appearance, or numbers
    ordered by n (positional values are sent in {{n}} order, not in reading order)."""
    if named:
        return list(dict.fromkeys(_NAMED.findall(text or "")))
    return [str(n) for n in sorted({int(n) for n in _POSITIONAL.findall(text or "")})]


def template_variables(
    *, components: list[dict], parameter_format: str, tracked_prefix: str | None = None
) -> list[Variable]:
    """The ordered variables of a template: header, body, the offer's expiry, buttons by
    index, then each carousel card's header, body and buttons.

    `tracked_prefix` is this installation's `<PUBLIC_URL>/r/`: a URL button pointing there
    takes a destination URL instead of a suffix (None: read settings.PUBLIC_URL)."""
    named = is_named(parameter_format)
    if tracked_prefix is None:
        tracked_prefix = tracked_link_prefix()
    found: list[Variable] = []
    for component in components or []:
        ctype = str(component.get("type", "")).upper()
        if ctype in ("HEADER", "BODY", "BUTTONS"):
            found.extend(_part_variables(ctype, component, named, tracked_prefix))
        elif ctype == "LIMITED_TIME_OFFER":
            if offer_has_expiration(component):
                found.append(
                    Variable(
                        column=OFFER_COLUMN,
                        component="offer",
                        kind="expiration",
                        example="2030-12-31T23:59:00Z",
                    )
                )
        elif ctype == "CAROUSEL":
            for n, card in enumerate(component.get("cards") or [], start=1):
                found.extend(_card_variables(n, card, named))
    return found


class TemplateLike(Protocol):
    """What `variables_for` reads of a template (`templates_app.models.MessageTemplate`)."""

    components: list[dict]
    parameter_format: str


def variables_for(template: TemplateLike) -> list[Variable]:
    return template_variables(
        components=template.components, parameter_format=template.parameter_format
    )


def spreadsheet_columns(variables: list[Variable]) -> list[str]:
    return [*PHONE_COLUMNS, *(v.column for v in variables)]


def offer_has_expiration(component: dict) -> bool:
    offer = component.get("limited_time_offer") or {}
    return bool(offer.get("has_expiration")) if isinstance(offer, dict) else False


def tracked_link_prefix() -> str | None:
    """`<PUBLIC_URL>/r/`, the start of a tracked link (docs/clicks.md); None when unset."""
    from django.conf import settings

    base = str(getattr(settings, "PUBLIC_URL", "") or "").rstrip("/")
    return f"{base}/r/" if base else None


def body_text_parts(*, components: list[dict], parameter_format: str) -> tuple[int, dict[str, int]]:
    """What the sent body's length is made of: the body text's length without its
    placeholders, and how many times each body column's value is written into it. Meta caps
    the hydrated body at BODY_TEXT_MAX characters (error 132005), so a row's body is
    `static + sum(times * len(value))` long. (0, {}) for a template without a body."""
    named = is_named(parameter_format)
    pattern = _NAMED if named else _POSITIONAL
    for component in components or []:
        if str(component.get("type", "")).upper() == "BODY":
            text = component.get("text", "") or ""
            times: dict[str, int] = {}
            static = len(text)
            for match in pattern.finditer(text):
                static -= len(match.group(0))
                key = match.group(1) if named else str(int(match.group(1)))
                column = text_column("body", key, named=named)
                times[column] = times.get(column, 0) + 1
            return static, times
    return 0, {}


def text_column(component: str, key: str, *, named: bool) -> str:
    return f"{component}_{key}" if named else f"{component}_param_{key}"


def card_prefix(card: int) -> str:
    return f"card_{card}_"


# --- internals ------------------------------------------------------------------------------


def _part_variables(
    ctype: str, component: dict, named: bool, tracked_prefix: str | None
) -> list[Variable]:
    """The variables of a HEADER, BODY or BUTTONS component (of the message or of a card)."""
    example = component.get("example") or {}
    if ctype == "HEADER":
        return _header_variables(component, example, named)
    if ctype == "BODY":
        return _text_variables("body", component, example, named)
    return [
        v
        for index, button in enumerate(component.get("buttons") or [])
        for v in _button_variables(index, button, tracked_prefix)
    ]


def _card_variables(n: int, card: dict, named: bool) -> list[Variable]:
    """A carousel card's variables, named `card_<n>_…` (n from 1, as the operator counts)."""
    found: list[Variable] = []
    for component in card.get("components") or []:
        ctype = str(component.get("type", "")).upper()
        if ctype in ("HEADER", "BODY", "BUTTONS"):
            found.extend(_part_variables(ctype, component, named, None))
    prefix = card_prefix(n)
    # Every card carries the same components (Meta's carousel rule), so a card's quick reply
    # always sends its payload: required here, unlike a message's own quick replies.
    return [
        replace(v, column=prefix + v.column, card=n, required=True)
        if v.kind == "payload"
        else replace(v, column=prefix + v.column, card=n)
        for v in found
    ]


def _header_variables(component: dict, example: dict, named: bool) -> list[Variable]:
    fmt = str(component.get("format", "TEXT")).upper()
    if fmt in MEDIA_FORMATS:
        handles = example.get("header_handle") or []
        return [
            Variable(
                column="header_media_url",
                component="header",
                kind=MEDIA_FORMATS[fmt],
                example=str(handles[0]) if handles else "",
            )
        ]
    if fmt == "LOCATION":
        return [
            Variable("header_latitude", "header", "latitude", example="37.483307"),
            Variable("header_longitude", "header", "longitude", example="-122.148981"),
            Variable(
                "header_location_name",
                "header",
                "location_name",
                required=False,
                example="Broadcast Store",
                max_length=LOCATION_TEXT_MAX,
            ),
            Variable(
                "header_location_address",
                "header",
                "location_address",
                required=False,
                example="1 Hacker Way, Menlo Park, CA 94025",
                max_length=LOCATION_TEXT_MAX,
            ),
        ]
    if fmt == "PRODUCT":
        return [
            Variable(
                "header_product_retailer_id",
                "header",
                "product_id",
                example="SKU-1001",
                max_length=PRODUCT_ID_MAX,
            ),
            Variable(
                "header_catalog_id",
                "header",
                "catalog_id",
                example="194836987003835",
                max_length=CATALOG_ID_MAX,
            ),
        ]
    if fmt != "TEXT":
        return []  # unknown formats: see unsupported_features()
    return _text_variables("header", component, example, named)


def _text_variables(kind: str, component: dict, example: dict, named: bool) -> list[Variable]:
    keys = placeholders(component.get("text", ""), named=named)
    examples = _text_examples(kind, example, named)
    max_length = HEADER_TEXT_MAX if kind == "header" else BODY_TEXT_MAX
    return [
        Variable(
            column=text_column(kind, key, named=named),
            component=kind,
            kind="text",
            position=None if named else int(key),
            name=key if named else None,
            example=examples.get(key, ""),
            max_length=max_length,
        )
        for key in keys
    ]


def _text_examples(kind: str, example: dict, named: bool) -> dict[str, str]:
    """Examples keyed like placeholders() keys: the name, or str(n)."""
    if named:
        pairs = example.get(f"{kind}_text_named_params") or []
        return {
            str(p.get("param_name")): str(p.get("example", ""))
            for p in pairs
            if isinstance(p, dict)
        }
    raw = example.get(f"{kind}_text") or []
    # body_text is an array of arrays (one example set); header_text is a flat array.
    if raw and isinstance(raw[0], list):
        raw = raw[0]
    return {str(i): str(value) for i, value in enumerate(raw, start=1)}


def _button_variables(index: int, button: dict, tracked_prefix: str | None) -> list[Variable]:
    btype = str(button.get("type", "")).upper()
    example = button.get("example")
    column = f"button_{index}_"

    def var(suffix: str, kind: str, **kw) -> Variable:
        return Variable(column + suffix, "button", kind, button_index=index, **kw)

    if btype == "URL":
        url = str(button.get("url", ""))
        if "{{" not in url:
            return []  # a static URL takes no parameter
        if tracked_prefix and url.replace(" ", "") == tracked_prefix + "{{1}}":
            # A tracked link: the recipient's suffix is an opaque token (docs/clicks.md) and
            # the row gives where the click lands.
            return [
                var(
                    "destination_url",
                    "destination",
                    example="https://shop.example.com/offer",
                    max_length=URL_SUFFIX_MAX,
                )
            ]
        return [
            var(
                "url_param",
                "url",
                example=_url_suffix_example(url, _first(example)),
                max_length=URL_SUFFIX_MAX,
            )
        ]
    if btype == "OTP":
        # Authentication templates send the code as a URL-button parameter (Meta's
        # authentication-template send example); same column as a URL button.
        return [var("url_param", "url", max_length=OTP_CODE_MAX)]
    if btype == "COPY_CODE":
        return [var("copy_code", "copy_code", example=_first(example), max_length=COPY_CODE_MAX)]
    if btype == "QUICK_REPLY":
        # Optional: Meta sends the button text back when no payload was given.
        return [var("payload", "payload", required=False, max_length=PAYLOAD_MAX)]
    if btype == "CATALOG":
        # Optional: without it Meta shows the catalog's first item (docs/whatsapp.md §11.1).
        return [
            var("thumbnail_product_id", "product_id", required=False, max_length=PRODUCT_ID_MAX)
        ]
    if btype == "MPM":
        return [
            var(
                "thumbnail_product_id", "product_id", example="SKU-1001", max_length=PRODUCT_ID_MAX
            ),
            var("sections", "sections", example="Best sellers: SKU-1001, SKU-1002; New: SKU-2001"),
        ]
    if btype == "FLOW":
        return [
            var("flow_token", "flow_token", required=False, max_length=FLOW_TOKEN_MAX),
            var("flow_action_data", "flow_data", required=False, max_length=FLOW_DATA_MAX),
        ]
    return []  # PHONE_NUMBER, SPM, VOICE_CALL take nothing at send time


def _first(example) -> str:
    if isinstance(example, list):
        return str(example[0]) if example else ""
    return "" if example is None else str(example)


def _url_suffix_example(url: str, full_example: str) -> str:
    """The part of the example URL that stands where the template's variable is."""
    prefix, _, rest = url.partition("{{")
    tail = rest.partition("}}")[2]
    if not full_example.startswith(prefix):
        return full_example  # Meta gave the suffix alone (or something else): keep it
    suffix = full_example[len(prefix) :]
    if tail and suffix.endswith(tail):
        suffix = suffix[: -len(tail)]
    return suffix


def text_segments(text: str, *, named: bool) -> list[tuple[str, str | None]]:
    """`text` cut into its literal pieces and its placeholders, in reading order:
    ("Hi ", None), ("{{1}}", "1"), … (a placeholder's key as `placeholders` gives it), so
    that a page can show each placeholder apart from the text around it."""
    pattern = _NAMED if named else _POSITIONAL
    pieces: list[tuple[str, str | None]] = []
    last = 0
    for match in pattern.finditer(text or ""):
        if match.start() > last:
            pieces.append((text[last : match.start()], None))
        key = match.group(1) if named else str(int(match.group(1)))
        pieces.append((match.group(0), key))
        last = match.end()
    if last < len(text or ""):
        pieces.append((text[last:], None))
    return pieces


def substitute(text: str, kind: str, named: bool, values: dict[str, str]) -> str:
    """`text` with each placeholder replaced by its column's value in `values` (a missing
    value stays visible as its placeholder)."""
    pattern = _NAMED if named else _POSITIONAL

    def value_of(match: re.Match) -> str:
        key = match.group(1) if named else str(int(match.group(1)))
        value = values.get(text_column(kind, key, named=named))
        return match.group(0) if value in (None, "") else str(value)

    return pattern.sub(value_of, text or "")
