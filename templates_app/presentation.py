"""A template as the recipient will see it, for the dashboard's template pages: header, body,
footer and buttons, each text cut into literal pieces and placeholders (shown as chips with
their example), plus what Broadcast cannot send yet.

Reading components stays in `whatsapp.variables` (the variables, their columns and
examples); this module only arranges them for a page, so the page never builds HTML from
template text (every piece is escaped by the template engine).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from whatsapp.preview import render_preview
from whatsapp.shapes import unsupported_features
from whatsapp.variables import (
    MEDIA_FORMATS,
    Variable,
    is_named,
    spreadsheet_columns,
    text_column,
    text_segments,
    variables_for,
)

from .models import MessageTemplate


@dataclass(frozen=True, slots=True)
class Piece:
    """Literal text (`column` empty) or a placeholder: its `{{…}}`, column and example."""

    text: str
    column: str = ""
    example: str = ""


@dataclass(frozen=True, slots=True)
class Button:
    kind: str  # Meta's type, lower case: url, quick_reply, phone_number, copy_code, otp…
    label: str
    target: list[Piece] = field(default_factory=list)  # the URL or the phone number

    @property
    def kind_label(self) -> str:
        return self.kind.replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class Message:
    header_text: list[Piece]
    header_media: str  # "image" | "video" | "document" | "location" | ""
    header_media_example: str
    body: list[Piece]
    footer: str
    buttons: list[Button]
    variables: list[Variable]
    columns: list[str]
    unsupported: list[str]
    # The message filled with its examples (whatsapp.preview): location, product, offer,
    # call request and carousel cards, drawn by templates/messages/_rich.html.
    rendered: dict = field(default_factory=dict)

    @property
    def has_header(self) -> bool:
        return bool(self.header_text or self.header_media)

    @property
    def variable_rows(self) -> list[tuple[Variable, str, str]]:
        """Each variable with where it goes and what it is, in words: "Body {{1}}", "Text"."""
        return [(v, variable_place(v), _KIND_LABELS.get(v.kind, v.kind)) for v in self.variables]


# Meta's defaults when a template sets none (M: templates/time-to-live, May 2026).
_DEFAULT_TTL = {"AUTHENTICATION": "10 minutes", "UTILITY": "30 days", "MARKETING": "30 days"}


def ttl_label(template: MessageTemplate) -> str:
    """How long Meta keeps trying to deliver the template's messages, in words."""
    seconds = template.message_send_ttl_seconds
    if not seconds:
        default = _DEFAULT_TTL.get(template.category)
        return f"Meta's default ({default})" if default else "Meta's default"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def variable_place(v: Variable) -> str:
    card = f"Card {v.card} " if v.card is not None else ""
    if v.button_index is not None:
        return f"{card}{'b' if card else 'B'}utton {v.button_index + 1}"
    if v.component == "offer":
        return "Limited-time offer"
    key = v.position if v.position else v.name
    place = v.component if card else v.component.capitalize()
    return f"{card}{place} {{{{{key}}}}}" if key else f"{card}{place}"


_KIND_LABELS = {
    "text": "Text",
    "image": "Image link",
    "video": "Video link",
    "document": "Document link",
    "url": "Link suffix",
    "copy_code": "Code",
    "payload": "Reply payload",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "location_name": "Location name",
    "location_address": "Location address",
    "product_id": "Product id (SKU)",
    "catalog_id": "Catalog id",
    "sections": "Product sections",
    "flow_token": "Flow token",
    "flow_data": "Flow data (JSON)",
    "expiration": "Offer end (date and time)",
    "destination": "Tracked link destination",
}
_BUTTON_LABELS = {"copy_code": "Copy offer code", "otp": "Copy code"}


def template_message(template: MessageTemplate) -> Message:
    variables = variables_for(template)
    examples = {v.column: v.example for v in variables}
    named = is_named(template.parameter_format)
    header_text: list[Piece] = []
    header_media = header_media_example = footer = ""
    body: list[Piece] = []
    buttons: list[Button] = []
    for component in template.components or []:
        ctype = str(component.get("type", "")).upper()
        if ctype == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt == "TEXT":
                header_text = _pieces(component.get("text", ""), "header", named, examples)
            else:
                header_media = MEDIA_FORMATS.get(fmt, fmt.lower())
                header_media_example = examples.get("header_media_url", "")
        elif ctype == "BODY":
            body = _pieces(component.get("text", ""), "body", named, examples)
        elif ctype == "FOOTER":
            footer = str(component.get("text", ""))
        elif ctype == "BUTTONS":
            buttons = [
                _button(index, button, examples)
                for index, button in enumerate(component.get("buttons") or [])
            ]
    return Message(
        header_text=header_text,
        header_media=header_media,
        header_media_example=header_media_example,
        body=body,
        footer=footer,
        buttons=buttons,
        variables=variables,
        columns=spreadsheet_columns(variables),
        unsupported=unsupported_features(template.components),
        rendered=render_preview(
            components=template.components,
            parameter_format=template.parameter_format,
            values=examples,
        ),
    )


def _pieces(text: str, kind: str, named: bool, examples: dict[str, str]) -> list[Piece]:
    pieces = []
    for literal, key in text_segments(str(text or ""), named=named):
        if key is None:
            pieces.append(Piece(literal))
        else:
            column = text_column(kind, key, named=named)
            pieces.append(Piece(literal, column=column, example=examples.get(column, "")))
    return pieces


def _button(index: int, button: dict, examples: dict[str, str]) -> Button:
    kind = str(button.get("type", "")).lower()
    label = str(button.get("text") or _BUTTON_LABELS.get(kind) or kind.replace("_", " ").title())
    target: list[Piece] = []
    if kind == "url":
        tracked = f"button_{index}_destination_url"
        column = tracked if tracked in examples else f"button_{index}_url_param"
        for literal, key in text_segments(str(button.get("url", "")), named=False):
            piece = Piece(literal, column=column, example=examples.get(column, ""))
            target.append(piece if key is not None else Piece(literal))
    elif kind == "phone_number":
        target = [Piece(str(button.get("phone_number", "")))]
    elif kind == "copy_code":
        column = f"button_{index}_copy_code"
        target = [Piece("{{code}}", column=column, example=examples.get(column, ""))]
    return Button(kind=kind, label=label, target=target)
