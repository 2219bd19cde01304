"""Meta's template-send request body, built from a template and one recipient's values.

Runs once per message on the send path (1,000 msg/s) and once per row in the importer
(millions of rows), so everything that depends only on the template is worked out once in
`PayloadBuilder`; `build()` and `validate()` only look at the values.

The mapping from template to variables lives in `whatsapp.variables`; this module
decides how each variable is sent (docs/whatsapp.md §1.2/§1.3) and refuses values Meta would
reject, naming the spreadsheet column, so one bad row never reaches Meta.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from urllib.parse import unquote, urlsplit

from .offers import expiration_ms
from .payload_parts import (
    RICH_KINDS,
    action_button,
    check_rich,
    offer_component,
    parse_sections,
)
from .variables import OFFER_COLUMN, Variable, is_named, template_variables

# docs/whatsapp.md §1.6: up to 512 characters.
CALLBACK_DATA_MAX = 512

# Meta refuses text parameters with a newline, a tab or more than 4 consecutive spaces
# ("Param text cannot have new-line/tab characters or more than 4 consecutive spaces";
# field reports, docs/whatsapp.md §1.2). Refusing at import beats failing at Meta.
_BAD_TEXT = re.compile(r"[\n\r\t]| {5,}")
_WHITESPACE = re.compile(r"\s")
# Kinds whose only checks are the text rules (rows.RowChecker's quick path relies on it).
_TEXT_KINDS = frozenset(
    {"text", "copy_code", "payload", "location_name", "location_address", "product_id",
     "flow_token"}
)  # fmt: skip


class PayloadError(ValueError):
    """A recipient's values cannot be sent with this template."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def check_value(variable: Variable, value: str | None) -> str | None:
    """Why `value` cannot fill `variable`, or None if it can."""
    column = variable.column
    if value is None:
        return f"{column} is missing" if variable.required else None
    if not isinstance(value, str):
        value = str(value)
    if not value.strip():
        # A blank optional value (a quick-reply payload) just means "send none".
        return f"{column} is empty" if variable.required else None
    if "\x00" in value:
        # No message carries it, and PostgreSQL cannot store it (in text or JSON).
        return f"{column} contains a NUL character"
    if variable.max_length is not None and len(value) > variable.max_length:
        limit = variable.max_length
        return f"{column} is {len(value)} characters long; Meta allows at most {limit}"
    kind = variable.kind
    if kind in _TEXT_KINDS:
        if _BAD_TEXT.search(value):
            return f"{column} contains a line break, a tab or more than 4 spaces in a row"
    elif kind == "url":
        if _WHITESPACE.search(value):
            return f"{column} contains whitespace, which a URL cannot carry"
    elif kind in RICH_KINDS:
        return check_rich(kind, column, value.strip())
    elif not _is_http_url(value):  # image / video / document / a tracked link's destination
        return f"{column} must be an http:// or https:// URL"
    return None


def validate_values(variables: Iterable[Variable], values: dict[str, str]) -> list[tuple[str, str]]:
    """Every problem with one recipient's values, as (column, message); [] when sendable."""
    problems = []
    for variable in variables:
        message = check_value(variable, values.get(variable.column))
        if message is not None:
            problems.append((variable.column, message))
    return problems


@dataclass(frozen=True, slots=True)
class _Part:
    """The variables of the message itself or of one carousel card, by component."""

    header: tuple[Variable, ...]
    body: tuple[Variable, ...]
    buttons: tuple[tuple[int, tuple[Variable, ...]], ...]  # by button index

    @classmethod
    def of(cls, variables: Iterable[Variable]) -> _Part:
        variables = list(variables)
        by_button: dict[int, list[Variable]] = {}
        for v in variables:
            if v.component == "button" and v.button_index is not None:
                by_button.setdefault(v.button_index, []).append(v)
        return cls(
            header=tuple(v for v in variables if v.component == "header"),
            body=tuple(v for v in variables if v.component == "body"),
            buttons=tuple((i, tuple(vs)) for i, vs in sorted(by_button.items())),
        )


class PayloadBuilder:
    """Builds the send body for one template; create once per template, reuse per message.

    `offer_expires_ms`: the campaign's expiry for a limited-time offer, used where a row
    gives none. `click_token(recipient_id, button_index)`: the suffix of a tracked link
    (docs/clicks.md); `build` then needs the recipient's id."""

    __slots__ = (
        "variables",
        "_name",
        "_language",
        "_named",
        "_top",
        "_cards",
        "_offer",
        "_offer_default",
        "_click_token",
    )

    def __init__(
        self,
        *,
        template_name: str,
        language: str,
        components: list[dict],
        parameter_format: str,
        offer_expires_ms: int | None = None,
        click_token: Callable[[int, int], str] | None = None,
    ):
        variables = template_variables(components=components, parameter_format=parameter_format)
        if offer_expires_ms is not None:
            variables = [
                replace(v, required=False) if v.column == OFFER_COLUMN else v for v in variables
            ]
        self.variables = tuple(variables)
        self._named = is_named(parameter_format)
        self._name = template_name
        self._language = language
        self._top = _Part.of(v for v in variables if v.card is None and v.component != "offer")
        cards = _card_count(components)
        self._cards = tuple(
            (n, _Part.of(v for v in variables if v.card == n)) for n in range(1, cards + 1)
        )
        self._offer = any(v.column == OFFER_COLUMN for v in variables)
        self._offer_default = offer_expires_ms
        self._click_token = click_token

    @property
    def offer_column(self) -> str | None:
        """The column of a limited-time offer's expiry, when the template has one."""
        return OFFER_COLUMN if self._offer else None

    def offer_ms(self, values: dict[str, str]) -> int | None:
        """When this row's offer expires (Unix ms): its own value, else the campaign's."""
        own = expiration_ms(values.get(OFFER_COLUMN) or "")
        return own if own is not None else self._offer_default

    def validate(self, values: dict[str, str]) -> list[tuple[str, str]]:
        return validate_values(self.variables, values)

    def build(
        self,
        to: str,
        values: dict[str, str],
        callback_data: str | None = None,
        recipient_id: int | None = None,
    ) -> dict:
        """The full request body; raises PayloadError naming the first bad column."""
        for variable in self.variables:
            message = check_value(variable, values.get(variable.column))
            if message is not None:
                raise PayloadError(variable.column, message)
        if not to:
            raise PayloadError("phone_number", "phone_number is missing")

        components = self._components(self._top, values, recipient_id)
        if self._offer:
            ms = self.offer_ms(values)
            if ms is None:
                raise PayloadError(OFFER_COLUMN, f"{OFFER_COLUMN} is missing")
            # Meta's example sends the offer after the body, before the buttons.
            at = next((i for i, c in enumerate(components) if c["type"] == "button"), None)
            components.insert(len(components) if at is None else at, offer_component(ms))
        if self._cards:
            components.append(
                {
                    "type": "carousel",
                    "cards": [
                        {"card_index": n - 1, "components": self._components(part, values, None)}
                        for n, part in self._cards
                    ],
                }
            )

        # Fresh dicts per message: callers may mutate what they get back.
        template = {"name": self._name, "language": {"code": self._language}}
        if components:
            template["components"] = components
        message = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template,
        }
        if callback_data is not None:
            if len(callback_data) > CALLBACK_DATA_MAX:
                raise PayloadError(
                    "biz_opaque_callback_data",
                    f"biz_opaque_callback_data is {len(callback_data)} characters long; "
                    f"Meta allows at most {CALLBACK_DATA_MAX}",
                )
            message["biz_opaque_callback_data"] = callback_data
        return message

    def _components(self, part: _Part, values: dict[str, str], recipient_id) -> list[dict]:
        components: list[dict] = []
        if part.header:
            components.append({"type": "header", "parameters": self._header(part.header, values)})
        if part.body:
            components.append(
                {"type": "body", "parameters": [self._text(v, values) for v in part.body]}
            )
        for index, variables in part.buttons:
            button = self._button(index, variables, values, recipient_id)
            if button is not None:
                components.append(button)
        return components

    def _text(self, variable: Variable, values: dict[str, str]) -> dict:
        value = str(values[variable.column])
        if self._named:
            return {"type": "text", "parameter_name": variable.name, "text": value}
        return {"type": "text", "text": value}

    def _header(self, variables: tuple[Variable, ...], values: dict[str, str]) -> list[dict]:
        kind = variables[0].kind
        if kind == "text":
            return [self._text(v, values) for v in variables]
        by_kind = {v.kind: str(values.get(v.column) or "").strip() for v in variables}
        if kind in ("latitude", "longitude", "location_name", "location_address"):
            location = {"latitude": by_kind["latitude"], "longitude": by_kind["longitude"]}
            for key in ("name", "address"):
                if by_kind.get(f"location_{key}"):
                    location[key] = by_kind[f"location_{key}"]
            return [{"type": "location", "location": location}]
        if kind in ("product_id", "catalog_id"):
            product = {
                "product_retailer_id": by_kind["product_id"],
                "catalog_id": by_kind["catalog_id"],
            }
            return [{"type": "product", "product": product}]
        value = str(values[variables[0].column])
        media = {"link": value}
        if kind == "document":
            filename = _filename(value)
            if filename:
                media["filename"] = filename
        return [{"type": kind, kind: media}]

    def _button(
        self, index: int, variables: tuple[Variable, ...], values: dict[str, str], recipient_id
    ) -> dict | None:
        got = {v.kind: str(values.get(v.column) or "") for v in variables}
        kinds = set(got)
        if "url" in kinds:
            return _sub(index, "url", {"type": "text", "text": got["url"]})
        if "destination" in kinds:
            if self._click_token is None or recipient_id is None:
                raise PayloadError(
                    variables[0].column, "a tracked link needs the recipient to make its token"
                )
            token = self._click_token(recipient_id, index)
            return _sub(index, "url", {"type": "text", "text": token})
        if "copy_code" in kinds:
            return _sub(
                index, "copy_code", {"type": "coupon_code", "coupon_code": got["copy_code"]}
            )
        if "payload" in kinds:
            # Optional: Meta echoes the button text without one.
            if not got["payload"].strip():
                return None
            return _sub(index, "quick_reply", {"type": "payload", "payload": got["payload"]})
        if "sections" in kinds:
            sections, _ = parse_sections(got["sections"])
            action = {
                "thumbnail_product_retailer_id": got["product_id"].strip(),
                "sections": sections,
            }
            return action_button(index, "mpm", action)
        if "product_id" in kinds:  # a catalog button's optional thumbnail
            sku = got["product_id"].strip()
            return action_button(
                index, "CATALOG", {"thumbnail_product_retailer_id": sku} if sku else None
            )
        # A flow button: both values optional; Meta opens the flow without them.
        action = {}
        if got.get("flow_token", "").strip():
            action["flow_token"] = got["flow_token"].strip()
        if got.get("flow_data", "").strip():
            action["flow_action_data"] = json.loads(got["flow_data"])
        return action_button(index, "flow", action) if action else None


def _sub(index: int, sub_type: str, parameter: dict) -> dict:
    return {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": [parameter]}


def _card_count(components: list[dict]) -> int:
    for component in components or []:
        if str(component.get("type", "")).upper() == "CAROUSEL":
            return len(component.get("cards") or [])
    return 0


def _is_http_url(value: str) -> bool:
    lowered = value[:8].lower()
    if not (lowered.startswith("https://") or lowered.startswith("http://")):
        return False
    if _WHITESPACE.search(value):
        return False
    try:
        return bool(urlsplit(value).hostname)
    except ValueError:  # e.g. a malformed IPv6 host
        return False


def _filename(url: str) -> str:
    """The last path segment, which WhatsApp shows as the document's name."""
    return unquote(posixpath.basename(urlsplit(url).path))
