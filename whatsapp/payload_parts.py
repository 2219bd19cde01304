"""The values of the richer template shapes (docs/whatsapp.md §11.1): how each is written in
a spreadsheet cell, what makes it invalid, and the send component it becomes.

`whatsapp.payload` calls these; they are apart only to keep that module short.
"""

from __future__ import annotations

import json
import math

from .offers import expiration_ms
from .variables import CATALOG_ID_MAX

# Multi-product messages: at most 10 sections and 30 products in all; a section title is
# at most 24 characters and needed when there is more than one section (Meta's MPM rules).
MPM_SECTIONS_MAX = 10
MPM_PRODUCTS_MAX = 30
MPM_TITLE_MAX = 24


def parse_sections(value: str) -> tuple[list[dict] | None, str | None]:
    """([{"title", "product_items": [{"product_retailer_id"}]}], None) or (None, why).

    A cell is `Title: SKU1, SKU2; Other title: SKU3` (one section may omit `Title:`), or the
    same as JSON: `[{"title": "…", "product_items": ["SKU1", …]}]`."""
    text = value.strip()
    if text.startswith("["):
        return _sections_from_json(text)
    sections = []
    for part in text.split(";"):
        if not part.strip():
            continue
        title, colon, items = part.partition(":")
        if not colon:
            title, items = "", part
        skus = [s.strip() for s in items.split(",") if s.strip()]
        sections.append({"title": title.strip(), "product_items": skus})
    return _checked(sections)


def _sections_from_json(text: str) -> tuple[list[dict] | None, str | None]:
    try:
        raw = json.loads(text)
    except ValueError:
        return None, "is not valid JSON"
    if not isinstance(raw, list):
        return None, "must be a list of sections"
    sections = []
    for item in raw:
        if not isinstance(item, dict):
            return None, "must be a list of sections, each an object"
        items = item.get("product_items", item.get("products", []))
        if not isinstance(items, list):
            return None, "a section's product_items must be a list"
        skus = []
        for sku in items:
            if isinstance(sku, dict):
                sku = sku.get("product_retailer_id")
            if not isinstance(sku, str | int) or not str(sku).strip():
                return None, "a product must be its retailer id (SKU)"
            skus.append(str(sku).strip())
        sections.append({"title": str(item.get("title") or "").strip(), "product_items": skus})
    return _checked(sections)


def _checked(sections: list[dict]) -> tuple[list[dict] | None, str | None]:
    if not sections:
        return None, "has no products"
    if len(sections) > MPM_SECTIONS_MAX:
        return None, f"has {len(sections)} sections; Meta allows at most {MPM_SECTIONS_MAX}"
    total = sum(len(s["product_items"]) for s in sections)
    if total > MPM_PRODUCTS_MAX:
        return None, f"has {total} products; Meta allows at most {MPM_PRODUCTS_MAX}"
    for n, section in enumerate(sections, 1):
        if not section["product_items"]:
            return None, f"section {n} has no products"
        if len(section["title"]) > MPM_TITLE_MAX:
            return None, f"section {n}'s title is longer than {MPM_TITLE_MAX} characters"
        if len(sections) > 1 and not section["title"]:
            return None, f"section {n} needs a title (write 'Title: SKU1, SKU2')"
    shaped = []
    for section in sections:
        out: dict = {
            "product_items": [{"product_retailer_id": sku} for sku in section["product_items"]]
        }
        if section["title"]:
            out = {"title": section["title"], **out}
        shaped.append(out)
    return shaped, None


def check_rich(kind: str, column: str, value: str) -> str | None:
    """Why `value` cannot be a value of `kind`, or None; for the kinds of this module."""
    if kind in ("latitude", "longitude"):
        limit = 90 if kind == "latitude" else 180
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and -limit <= number <= limit):
            return f"{column} must be a number between -{limit} and {limit}"
        return None
    if kind == "catalog_id":
        if not (value.isascii() and value.isdigit() and len(value) <= CATALOG_ID_MAX):
            return f"{column} must be the catalog's id: digits only"
        return None
    if kind == "sections":
        _, why = parse_sections(value)
        return f"{column} {why}" if why else None
    if kind == "flow_data":
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return f'{column} must be a JSON object, e.g. {{"screen": "WELCOME"}}'
        return None
    if kind == "expiration":
        if expiration_ms(value) is None:
            return (
                f"{column} must be a date and time (2026-12-31T23:59:00Z, 2026-12-31 23:59) "
                "or Unix seconds or milliseconds"
            )
        return None
    return None


RICH_KINDS = frozenset(
    {"latitude", "longitude", "catalog_id", "sections", "flow_data", "expiration"}
)


def action_button(index: int, sub_type: str, action: dict | None) -> dict:
    parameters = [{"type": "action", "action": action}] if action else []
    return {"type": "button", "sub_type": sub_type, "index": str(index), "parameters": parameters}


def offer_component(ms: int) -> dict:
    return {
        "type": "limited_time_offer",
        "parameters": [
            {"type": "limited_time_offer", "limited_time_offer": {"expiration_time_ms": ms}}
        ],
    }
