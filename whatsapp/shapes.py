"""Which template shapes Broadcast can send: everything else is refused when a campaign is
created (and shown on the template page), naming what Meta added that Broadcast does not
know, rather than refused by Meta for every recipient (132000).

The shapes and their columns: docs/templates.md; the send components: whatsapp.payload.
"""

from __future__ import annotations

# What Broadcast knows how to fill (docs/whatsapp.md §1.2, §11.1). Anything Meta adds later
# is refused at campaign creation, naming it (unsupported_features).
HEADER_FORMATS = frozenset({"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "PRODUCT"})
COMPONENT_TYPES = frozenset(
    {"HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER",
     "CALL_PERMISSION_REQUEST"}
)  # fmt: skip
BUTTON_TYPES = frozenset(
    {"URL", "QUICK_REPLY", "PHONE_NUMBER", "COPY_CODE", "OTP", "CATALOG", "MPM", "SPM", "FLOW",
     "VOICE_CALL"}
)  # fmt: skip
CARD_HEADER_FORMATS = frozenset({"IMAGE", "VIDEO", "PRODUCT"})
CARD_BUTTON_TYPES = frozenset({"URL", "QUICK_REPLY", "PHONE_NUMBER", "SPM"})
CAROUSEL_CARDS = (2, 10)


def unsupported_features(components: list[dict]) -> list[str]:
    """What Broadcast does not know how to fill at send time, named as Meta names it; a
    template with any is not sendable (Meta would refuse every recipient with 132000)."""
    problems: list[str] = []
    for component in components or []:
        ctype = str(component.get("type", "")).upper()
        if ctype not in COMPONENT_TYPES:
            problems.append(f"{ctype or 'unnamed'} component")
        elif ctype == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt not in HEADER_FORMATS:
                problems.append(f"{fmt} header")
        elif ctype == "BUTTONS":
            problems += _unknown_buttons(component, BUTTON_TYPES, "")
        elif ctype == "CAROUSEL":
            problems += _carousel_problems(component)
    return list(dict.fromkeys(problems))


def _unknown_buttons(component: dict, known: frozenset, where: str) -> list[str]:
    return [
        f"{where}{str(b.get('type', '')).upper() or 'unnamed'} button"
        for b in component.get("buttons") or []
        if str(b.get("type", "")).upper() not in known
    ]


def _carousel_problems(component: dict) -> list[str]:
    cards = component.get("cards") or []
    low, high = CAROUSEL_CARDS
    if not low <= len(cards) <= high:
        return [f"carousel of {len(cards)} cards (Meta allows {low} to {high})"]
    problems: list[str] = []
    for card in cards:
        for inner in card.get("components") or []:
            ctype = str(inner.get("type", "")).upper()
            if ctype == "HEADER":
                fmt = str(inner.get("format", "")).upper()
                if fmt not in CARD_HEADER_FORMATS:
                    problems.append(f"carousel card {fmt or 'unnamed'} header")
            elif ctype == "BUTTONS":
                problems += _unknown_buttons(inner, CARD_BUTTON_TYPES, "carousel card ")
            elif ctype != "BODY":
                problems.append(f"carousel card {ctype or 'unnamed'} component")
    return problems
