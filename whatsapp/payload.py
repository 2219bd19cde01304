"""Meta's template-send request body, built from a template and one recipient's values.

Runs once per message on the send path (1,000 msg/s) and once per row in the importer
(millions of rows), so everything that depends only on the template is worked out once in
`PayloadBuilder`; `build()` and `validate()` only look at the values.

The mapping from template to variables lives in `whatsapp.variables`; this module
decides how each variable is sent (docs/whatsapp.md §1.2/§1.3) and refuses values Meta would
reject, naming the spreadsheet column, so one bad row never reaches Meta.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from whatsapp.variables import Variable, is_named, template_variables

# docs/whatsapp.md §1.6: up to 512 characters.
CALLBACK_DATA_MAX = 512

# Meta refuses text parameters with a newline, a tab or more than 4 consecutive spaces
# ("Param text cannot have new-line/tab characters or more than 4 consecutive spaces";
# field reports, docs/whatsapp.md §1.2). Refusing at import beats failing at Meta.
_BAD_TEXT = re.compile(r"[\n\r\t]| {5,}")
_WHITESPACE = re.compile(r"\s")
_TEXT_KINDS = frozenset({"text", "copy_code", "payload"})


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
    elif not _is_http_url(value):  # image / video / document
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


class PayloadBuilder:
    """Builds the send body for one template; create once per template, reuse per message."""

    __slots__ = ("variables", "_name", "_language", "_header", "_body", "_buttons", "_named")

    def __init__(
        self, *, template_name: str, language: str, components: list[dict], parameter_format: str
    ):
        self.variables = tuple(
            template_variables(components=components, parameter_format=parameter_format)
        )
        self._named = is_named(parameter_format)
        self._name = template_name
        self._language = language
        self._header = tuple(v for v in self.variables if v.component == "header")
        self._body = tuple(v for v in self.variables if v.component == "body")
        self._buttons = tuple(v for v in self.variables if v.component == "button")

    def validate(self, values: dict[str, str]) -> list[tuple[str, str]]:
        return validate_values(self.variables, values)

    def build(self, to: str, values: dict[str, str], callback_data: str | None = None) -> dict:
        """The full request body; raises PayloadError naming the first bad column."""
        for variable in self.variables:
            message = check_value(variable, values.get(variable.column))
            if message is not None:
                raise PayloadError(variable.column, message)
        if not to:
            raise PayloadError("phone_number", "phone_number is missing")

        components = []
        if self._header:
            components.append(
                {"type": "header", "parameters": [self._parameter(v, values) for v in self._header]}
            )
        if self._body:
            components.append(
                {"type": "body", "parameters": [self._parameter(v, values) for v in self._body]}
            )
        for variable in self._buttons:
            button = self._button(variable, values.get(variable.column))
            if button is not None:
                components.append(button)

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

    def _parameter(self, variable: Variable, values: dict[str, str]) -> dict:
        value = str(values[variable.column])
        kind = variable.kind
        if kind == "text":
            if self._named:
                return {"type": "text", "parameter_name": variable.name, "text": value}
            return {"type": "text", "text": value}
        media = {"link": value}
        if kind == "document":
            filename = _filename(value)
            if filename:
                media["filename"] = filename
        return {"type": kind, kind: media}

    @staticmethod
    def _button(variable: Variable, value: str | None) -> dict | None:
        index = str(variable.button_index)
        kind = variable.kind
        if kind == "url":
            parameter = {"type": "text", "text": str(value)}
            sub_type = "url"
        elif kind == "copy_code":
            parameter = {"type": "coupon_code", "coupon_code": str(value)}
            sub_type = "copy_code"
        else:  # quick-reply payload: optional, Meta echoes the button text without one
            if value is None or not str(value).strip():
                return None
            parameter = {"type": "payload", "payload": str(value)}
            sub_type = "quick_reply"
        return {"type": "button", "sub_type": sub_type, "index": index, "parameters": [parameter]}


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
