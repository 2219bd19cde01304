"""Send validation of the richer template shapes (docs/whatsapp.md §11.1): the limited-time
offer, a product header, and the catalog, multi-product and flow buttons' `action`
parameter. Called by `validation`, which checks the rest of the body.
"""

import time

from .graph_errors import GraphError

MPM_SECTIONS_MAX = 10
MPM_PRODUCTS_MAX = 30
MPM_TITLE_MAX = 24


def check_offer(comp: dict | None, expected: bool) -> None:
    if comp is None:
        if expected:
            raise GraphError(
                131008, "limited_time_offer: Required parameter expiration_time_ms is missing"
            )
        return
    if not expected:
        raise GraphError(132000, "limited_time_offer: the template has no offer with an expiry")
    params = comp.get("parameters")
    if not isinstance(params, list) or len(params) != 1 or not isinstance(params[0], dict):
        raise GraphError(
            132000,
            "limited_time_offer: number of parameters does not match the expected number (1)",
        )
    offer = params[0].get("limited_time_offer")
    if params[0].get("type") != "limited_time_offer" or not isinstance(offer, dict):
        raise GraphError(132012, "limited_time_offer: Format mismatch, expected LIMITED_TIME_OFFER")
    ms = offer.get("expiration_time_ms")
    if not isinstance(ms, int) or isinstance(ms, bool):
        raise GraphError(100, "limited_time_offer: expiration_time_ms must be an integer")
    if ms <= time.time() * 1000:
        raise GraphError(131009, "limited_time_offer: expiration_time_ms is in the past")


def check_product(where: str, p: dict) -> None:
    product = p.get("product") if str(p.get("type", "")).lower() == "product" else None
    if not isinstance(product, dict):
        raise GraphError(
            132012, f"{where}: Format mismatch, expected PRODUCT, received {p.get('type')!r}"
        )
    for key in ("product_retailer_id", "catalog_id"):
        value = product.get(key)
        if not isinstance(value, str) or not value.strip():
            raise GraphError(131008, f"{where}: product needs {key}")


def check_action(index: int, sub_type: str, params: list, required: bool) -> None:
    """A catalog, mpm or flow button: one `action` parameter (optional for catalog and flow)."""
    where = f"buttons: Button at index {index} of type {sub_type.capitalize()}"
    if not params:
        if required:
            raise GraphError(131008, f"{where} requires a parameter")
        return
    if len(params) != 1 or params[0].get("type") != "action":
        raise GraphError(100, f"{where} takes one parameter of type action")
    action = params[0].get("action")
    if not isinstance(action, dict):
        raise GraphError(100, f"{where}: action must be an object")
    thumbnail = action.get("thumbnail_product_retailer_id")
    if thumbnail is not None and (not isinstance(thumbnail, str) or not thumbnail):
        raise GraphError(100, f"{where}: thumbnail_product_retailer_id must be a string")
    if sub_type == "mpm":
        if not thumbnail:
            raise GraphError(131008, f"{where}: thumbnail_product_retailer_id is required")
        _check_sections(where, action.get("sections"))
    elif sub_type == "flow":
        token = action.get("flow_token")
        if token is not None and not isinstance(token, str):
            raise GraphError(100, f"{where}: flow_token must be a string")
        data = action.get("flow_action_data")
        if data is not None and not isinstance(data, dict):
            raise GraphError(100, f"{where}: flow_action_data must be an object")


def _check_sections(where: str, sections) -> None:
    if not isinstance(sections, list) or not sections:
        raise GraphError(131008, f"{where}: sections are required")
    if len(sections) > MPM_SECTIONS_MAX:
        raise GraphError(131009, f"{where}: at most {MPM_SECTIONS_MAX} sections")
    total = 0
    for section in sections:
        items = section.get("product_items") if isinstance(section, dict) else None
        if not isinstance(items, list) or not items:
            raise GraphError(131008, f"{where}: each section needs product_items")
        for item in items:
            sku = item.get("product_retailer_id") if isinstance(item, dict) else None
            if not isinstance(sku, str) or not sku:
                raise GraphError(100, f"{where}: each product needs a product_retailer_id")
        total += len(items)
        title = section.get("title")
        if title is not None and (not isinstance(title, str) or len(title) > MPM_TITLE_MAX):
            raise GraphError(100, f"{where}: a section title is at most {MPM_TITLE_MAX} characters")
        if len(sections) > 1 and not title:
            raise GraphError(131008, f"{where}: every section needs a title")
    if total > MPM_PRODUCTS_MAX:
        raise GraphError(131009, f"{where}: at most {MPM_PRODUCTS_MAX} products in all")
