"""The sandbox's built-in template catalogue, in Meta's `GET message_templates` shape.

One catalogue is shared by every WABA id. Each template is compiled once, at startup, into a
`TemplateSpec` that the send validation reads (what the header needs, the body's parameter
names or count, which buttons need a parameter), so a send costs a dict lookup, not a parse.
Statuses are mutable (`POST /__sandbox/templates/{name}/status`) and restored by `reset()`.
"""

import base64
import copy
import re
from dataclasses import dataclass

from .builtin_templates import TEMPLATES

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

MEDIA_FORMATS = frozenset({"IMAGE", "VIDEO", "DOCUMENT"})


QUALITY = {"APPROVED": "GREEN", "PAUSED": "RED"}
QUALITY_DATE = 1764500000  # a fixed date keeps responses deterministic


@dataclass(slots=True)
class ButtonSpec:
    type: str  # URL, QUICK_REPLY, COPY_CODE, OTP, PHONE_NUMBER, CATALOG, MPM, FLOW, SPM…
    needs_param: bool  # a URL with {{1}}, COPY_CODE, OTP, MPM


@dataclass(slots=True)
class CardSpec:
    """One carousel card: its header (IMAGE, VIDEO or PRODUCT), body and buttons."""

    header_format: str | None
    body_params: tuple[str, ...]
    buttons: dict[int, ButtonSpec]
    required_buttons: tuple[int, ...]


@dataclass(slots=True)
class TemplateSpec:
    """What a send of one (name, language) must carry; compiled once."""

    id: str
    name: str
    language: str
    category: str
    parameter_format: str  # POSITIONAL | NAMED
    header_format: str | None  # TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION or None
    header_params: tuple[str, ...]  # placeholder names ("1" for positional)
    body_params: tuple[str, ...]
    buttons: dict[int, ButtonSpec]
    required_buttons: tuple[int, ...]
    status: str
    initial_status: str
    meta: dict  # the template as GET message_templates returns it (status aside)
    offer_expiration: bool = False  # a LIMITED_TIME_OFFER with has_expiration
    cards: tuple[CardSpec, ...] = ()

    @property
    def named(self) -> bool:
        return self.parameter_format == "NAMED"

    @property
    def pricing_category(self) -> str:
        return self.category.lower()


def _placeholders(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in PLACEHOLDER.findall(text or ""):
        seen.setdefault(name, None)
    return tuple(seen)


def _buttons(comp: dict) -> dict[int, ButtonSpec]:
    buttons = {}
    for index, button in enumerate(comp["buttons"]):
        btype = button["type"]
        needs = btype in ("COPY_CODE", "OTP", "MPM") or (
            btype == "URL" and bool(PLACEHOLDER.search(button.get("url", "")))
        )
        buttons[index] = ButtonSpec(type=btype, needs_param=needs)
    return buttons


def _card(card: dict) -> CardSpec:
    header_format, body_params = None, ()
    buttons: dict[int, ButtonSpec] = {}
    for comp in card["components"]:
        if comp["type"] == "HEADER":
            header_format = comp["format"]
        elif comp["type"] == "BODY":
            body_params = _placeholders(comp.get("text", ""))
        elif comp["type"] == "BUTTONS":
            buttons = _buttons(comp)
    return CardSpec(
        header_format=header_format,
        body_params=body_params,
        buttons=buttons,
        required_buttons=tuple(i for i, b in buttons.items() if b.needs_param),
    )


def compile_template(tpl: dict) -> TemplateSpec:
    header_format, header_params, body_params = None, (), ()
    buttons: dict[int, ButtonSpec] = {}
    offer_expiration = False
    cards: tuple[CardSpec, ...] = ()
    for comp in tpl["components"]:
        kind = comp["type"]
        if kind == "HEADER":
            header_format = comp["format"]
            if header_format == "TEXT":
                header_params = _placeholders(comp.get("text", ""))
        elif kind == "BODY":
            body_params = _placeholders(comp.get("text", ""))
        elif kind == "BUTTONS":
            buttons = _buttons(comp)
        elif kind == "LIMITED_TIME_OFFER":
            offer_expiration = bool(comp.get("limited_time_offer", {}).get("has_expiration"))
        elif kind == "CAROUSEL":
            cards = tuple(_card(card) for card in comp["cards"])
    return TemplateSpec(
        id=tpl["id"],
        name=tpl["name"],
        language=tpl["language"],
        category=tpl["category"],
        parameter_format=tpl.get("parameter_format", "POSITIONAL"),
        header_format=header_format,
        header_params=header_params,
        body_params=body_params,
        buttons=buttons,
        required_buttons=tuple(i for i, b in buttons.items() if b.needs_param),
        status=tpl["status"],
        initial_status=tpl["status"],
        meta=tpl,
        offer_expiration=offer_expiration,
        cards=cards,
    )


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"tpl:{index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Raise ValueError on a cursor this catalogue did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError(cursor) from None
    prefix, _, number = raw.partition(":")
    if prefix != "tpl" or not number.isdigit():
        raise ValueError(cursor)
    return int(number)


class Catalogue:
    """The templates, their compiled specs and their (mutable) statuses."""

    def __init__(self, templates: list[dict] | None = None):
        templates = copy.deepcopy(templates if templates is not None else TEMPLATES)
        self._order = [compile_template(tpl) for tpl in templates]
        self.specs = {(s.name, s.language): s for s in self._order}
        self.by_id = {s.id: s for s in self._order}

    def get(self, name: str, language: str) -> TemplateSpec | None:
        return self.specs.get((name, language))

    def named(self, name: str, language: str | None = None) -> list[TemplateSpec]:
        return [
            s
            for s in self._order
            if s.name == name and (language is None or s.language == language)
        ]

    def reset(self) -> None:
        for spec in self._order:
            spec.status = spec.initial_status

    def as_meta(self, spec: TemplateSpec, fields: set[str] | None = None) -> dict:
        obj = {**spec.meta, "status": spec.status}
        obj["quality_score"] = {
            "score": QUALITY.get(spec.status, "UNKNOWN"),
            "date": QUALITY_DATE,
        }
        if fields:
            # Meta always returns the id, whatever `fields` asks for.
            obj = {k: v for k, v in obj.items() if k in fields or k == "id"}
        return obj

    def page(
        self,
        *,
        limit: int,
        after: str | None = None,
        before: str | None = None,
        statuses: set[str] | None = None,
        name: str | None = None,
        language: str | None = None,
        fields: set[str] | None = None,
    ) -> tuple[list[dict], str | None, str | None, bool, bool]:
        """One page: (templates, before cursor, after cursor, has_previous, has_next).

        Cursors name positions in the unfiltered catalogue, so they stay valid while a
        template's status changes between pages.
        """
        rows = [
            (i, s)
            for i, s in enumerate(self._order)
            if (not statuses or s.status in statuses)
            and (not name or name in s.name)
            and (not language or s.language == language)
        ]
        if after is not None:
            start = decode_cursor(after)
            rows_after = [r for r in rows if r[0] > start]
            has_prev = len(rows_after) < len(rows)
            chunk = rows_after[:limit]
            has_next = len(rows_after) > limit
        elif before is not None:
            end = decode_cursor(before)
            rows_before = [r for r in rows if r[0] < end]
            chunk = rows_before[-limit:]
            has_prev = len(rows_before) > limit
            has_next = len(rows_before) < len(rows)
        else:
            chunk = rows[:limit]
            has_prev, has_next = False, len(rows) > limit
        data = [self.as_meta(s, fields) for _, s in chunk]
        if not chunk:
            return data, None, None, False, False
        return data, encode_cursor(chunk[0][0]), encode_cursor(chunk[-1][0]), has_prev, has_next
