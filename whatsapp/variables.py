"""A template's variables: the one place that turns Meta's template components into the
ordered list of values a recipient needs (and so the spreadsheet columns).

The sample spreadsheet, the importer, the preview and the payload builder
(`whatsapp.payload`) all read this list, so a column name or a limit is decided here once.
Components are in the shape `GET /<WABA_ID>/message_templates` returns (docs/whatsapp.md §2.2):
reading them is Cloud API knowledge, so it lives in `whatsapp`, below the catalogue app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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

MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}

_POSITIONAL = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_NAMED = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Variable:
    column: str
    component: str  # "header" | "body" | "button"
    kind: str  # "text" | "image" | "video" | "document" | "url" | "copy_code" | "payload"
    position: int | None = None  # the n of {{n}} for positional text
    name: str | None = None  # the parameter name for named templates
    button_index: int | None = None  # 0-based position in the BUTTONS array
    required: bool = True
    example: str = ""
    max_length: int | None = None


def is_named(parameter_format: str | None) -> bool:
    return (parameter_format or "").upper() == "NAMED"


def placeholders(text: str, *, named: bool) -> list[str]:
    """The distinct placeholders of `text`: names in order of appearance, or numbers
    ordered by n (positional values are sent in {{n}} order, not in reading order)."""
    if named:
        return list(dict.fromkeys(_NAMED.findall(text or "")))
    return [str(n) for n in sorted({int(n) for n in _POSITIONAL.findall(text or "")})]


def template_variables(*, components: list[dict], parameter_format: str) -> list[Variable]:
    """The ordered variables of a template: header, body, then buttons by index."""
    named = is_named(parameter_format)
    found: list[Variable] = []
    for component in components or []:
        ctype = str(component.get("type", "")).upper()
        example = component.get("example") or {}
        if ctype == "HEADER":
            found.extend(_header_variables(component, example, named))
        elif ctype == "BODY":
            found.extend(_text_variables("body", component, example, named))
        elif ctype == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                variable = _button_variable(index, button)
                if variable is not None:
                    found.append(variable)
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


def unsupported_features(components: list[dict]) -> list[str]:
    """What this product cannot fill at send time; a template with any is not sendable
    from a spreadsheet (Meta would answer 132000 for every recipient)."""
    problems = []
    for component in components or []:
        ctype = str(component.get("type", "")).upper()
        if ctype == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt not in MEDIA_FORMATS and fmt != "TEXT":
                problems.append(f"{fmt.lower()} header")
        elif ctype in {"CAROUSEL", "LIMITED_TIME_OFFER"}:
            problems.append(ctype.lower().replace("_", " "))
        elif ctype == "BUTTONS":
            for button in component.get("buttons") or []:
                btype = str(button.get("type", "")).upper()
                if btype in {"CATALOG", "MPM", "FLOW"}:
                    problems.append(f"{btype.lower()} button")
    return problems


def render_preview(
    *, components: list[dict], parameter_format: str, values: dict[str, str]
) -> dict:
    """What the recipient sees, with values substituted; a missing value stays visible as
    its placeholder so the operator notices it."""
    named = is_named(parameter_format)
    preview: dict = {"header": None, "body": "", "footer": None, "buttons": []}
    for component in components or []:
        ctype = str(component.get("type", "")).upper()
        if ctype == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt == "TEXT":
                preview["header"] = _substitute(component.get("text", ""), "header", named, values)
            else:
                preview["header"] = f"[{fmt.lower()}]"
        elif ctype == "BODY":
            preview["body"] = _substitute(component.get("text", ""), "body", named, values)
        elif ctype == "FOOTER":
            preview["footer"] = component.get("text", "")
        elif ctype == "BUTTONS":
            preview["buttons"] = [_button_label(b) for b in component.get("buttons") or []]
    return preview


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


# --- internals ------------------------------------------------------------------------------


def text_column(component: str, key: str, *, named: bool) -> str:
    return f"{component}_{key}" if named else f"{component}_param_{key}"


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
    if fmt != "TEXT":
        return []  # LOCATION and friends: see unsupported_features()
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


def _button_variable(index: int, button: dict) -> Variable | None:
    btype = str(button.get("type", "")).upper()
    example = button.get("example")
    if btype == "URL":
        url = str(button.get("url", ""))
        if "{{" not in url:
            return None  # a static URL takes no parameter
        return Variable(
            column=f"button_{index}_url_param",
            component="button",
            kind="url",
            button_index=index,
            example=_url_suffix_example(url, _first(example)),
            max_length=URL_SUFFIX_MAX,
        )
    if btype == "OTP":
        # Authentication templates send the code as a URL-button parameter (Meta's
        # authentication-template send example); same column as a URL button.
        return Variable(
            column=f"button_{index}_url_param",
            component="button",
            kind="url",
            button_index=index,
            max_length=OTP_CODE_MAX,
        )
    if btype == "COPY_CODE":
        return Variable(
            column=f"button_{index}_copy_code",
            component="button",
            kind="copy_code",
            button_index=index,
            example=_first(example),
            max_length=COPY_CODE_MAX,
        )
    if btype == "QUICK_REPLY":
        # Optional: Meta sends the button text back when no payload was given.
        return Variable(
            column=f"button_{index}_payload",
            component="button",
            kind="payload",
            button_index=index,
            required=False,
            max_length=PAYLOAD_MAX,
        )
    return None  # PHONE_NUMBER and the rest take nothing at send time


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


def _substitute(text: str, kind: str, named: bool, values: dict[str, str]) -> str:
    pattern = _NAMED if named else _POSITIONAL

    def replace(match: re.Match) -> str:
        value = values.get(text_column(kind, match.group(1), named=named))
        return match.group(0) if value in (None, "") else str(value)

    return pattern.sub(replace, text or "")


def _button_label(button: dict) -> str:
    if button.get("text"):
        return str(button["text"])
    btype = str(button.get("type", "")).upper()
    return "Copy offer code" if btype == "COPY_CODE" else btype.replace("_", " ").title()
