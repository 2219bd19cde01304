"""A segment's rule language (docs/audiences.md §4): reading and checking the JSON a client
sends, and writing it back in one normal form that `segments.py` compiles to SQL.

The input is hostile (any API caller writes it): its depth, its number of conditions, its
strings and its lists are bounded here, before anything reaches the database, and every
refusal names the node at fault by its JSON path (`all[3].op`).
"""

import math
import re
import uuid
from datetime import UTC, date, datetime

from config.errors import Invalid

from ..importing.readers import normalise_header

MAX_DEPTH = 10
MAX_CONDITIONS = 200
MAX_GROUPS = 200
MAX_STRING = 1000
MAX_IN_VALUES = 500
MAX_DAYS = 3650

GROUPS = ("all", "any", "not")
# Engagement states; "messaged" is another name for "sent".
ENGAGEMENTS = ("sent", "delivered", "read", "replied", "clicked", "failed")
ENGAGEMENT_ALIASES = {"messaged": "sent"}

TEXT_OPS = ("eq", "ne", "contains", "in", "exists")
DATE_OPS = ("before", "after", "exists")
NUMBER_OPS = ("gt", "gte", "lt", "lte")
# Which ops each field takes ("attribute.<key>" and "tag" are the open-ended ones).
COLUMN_OPS: dict[str, tuple[str, ...]] = {
    "name": TEXT_OPS,
    "phone": TEXT_OPS,
    "locale": TEXT_OPS,
    "time_zone": TEXT_OPS,
    "created_at": DATE_OPS,
    "last_messaged_at": DATE_OPS,
    "last_replied_at": DATE_OPS,
    "opted_out": ("eq",),
    "tag": ("has", "in", "exists"),
}
ATTRIBUTE_OPS: tuple[str, ...] = TEXT_OPS + NUMBER_OPS + ("before", "after")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .\-]{0,99}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RuleError(Invalid):
    """A malformed rule: `.path` is the JSON path to the bad node ("" for the whole rules),
    `.reason` why, and `.message` both, as the API shows it: `{"rules": [message]}`."""

    field = "rules"

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


def validate_rules(rules) -> dict:
    """The rules in normal form, or RuleError. `{}` (or `{"all": []}`) is every contact."""
    if rules in (None, {}):
        return {"all": []}
    if not isinstance(rules, dict):
        raise RuleError("", f"rules must be a JSON object, got {_kind(rules)}")
    counts = {"conditions": 0, "groups": 0, "values": 0}
    return _node(rules, "", 1, counts)


def rule_references(rules: dict) -> dict[str, list[tuple[str, str]]]:
    """The list and campaign ids normalised rules name, each with its path: for checking they
    belong to the workspace (`segments.rules_check_references`)."""
    found: dict[str, list[tuple[str, str]]] = {"list": [], "campaign": []}

    def walk(node: dict, path: str) -> None:
        for group in ("all", "any"):
            if group in node:
                for i, child in enumerate(node[group]):
                    walk(child, f"{path}{'.' if path else ''}{group}[{i}]")
                return
        if "not" in node:
            walk(node["not"], f"{path}{'.' if path else ''}not")
        elif "list" in node:
            found["list"].append((node["list"], _join(path, "list")))
        elif node.get("campaign"):
            found["campaign"].append((node["campaign"], _join(path, "campaign")))

    walk(rules, "")
    return found


# --- nodes -----------------------------------------------------------------------------------


def _node(node, path: str, depth: int, counts: dict) -> dict:
    if not isinstance(node, dict):
        raise RuleError(path, f"a condition or group must be a JSON object, got {_kind(node)}")
    if "field" in node:
        return _negated(_field(node, path, counts), node, path, ("field", "op", "value"))
    if "list" in node:
        return _negated(_list(node, path, counts), node, path, ("list",))
    if "engagement" in node:
        keys = ("engagement", "campaign", "within_days")
        return _negated(_engagement(node, path, counts), node, path, keys)
    groups = [key for key in GROUPS if key in node]
    if len(groups) != 1 or len(node) != 1:
        raise RuleError(
            path,
            "expected one of all, any, not (a group) or field, list, engagement (a condition)"
            f", got keys {_keys(node)}",
        )
    if depth > MAX_DEPTH:
        raise RuleError(path, f"groups are nested more than {MAX_DEPTH} deep")
    counts["groups"] += 1
    if counts["groups"] > MAX_GROUPS:
        raise RuleError(path, f"more than {MAX_GROUPS} groups")
    key = groups[0]
    here = _join(path, key)
    if key == "not":
        return {"not": _node(node["not"], here, depth + 1, counts)}
    children = node[key]
    if not isinstance(children, list):
        raise RuleError(here, f"must be a list of conditions, got {_kind(children)}")
    if len(children) > MAX_CONDITIONS:
        raise RuleError(here, f"more than {MAX_CONDITIONS} conditions")
    return {key: [_node(c, f"{here}[{i}]", depth + 1, counts) for i, c in enumerate(children)]}


def _negated(leaf: dict, node: dict, path: str, allowed: tuple[str, ...]) -> dict:
    """A condition may carry `"not": true`: the same as wrapping it in {"not": …}."""
    unknown = sorted(set(node) - set(allowed) - {"not"})
    if unknown:
        raise RuleError(_join(path, unknown[0]), f"unknown key (expected {', '.join(allowed)})")
    negate = node.get("not", False)
    if not isinstance(negate, bool):
        raise RuleError(_join(path, "not"), f"must be true or false, got {_show(negate)}")
    return {"not": leaf} if negate else leaf


def _count(counts: dict, path: str) -> None:
    counts["conditions"] += 1
    if counts["conditions"] > MAX_CONDITIONS:
        raise RuleError(path, f"more than {MAX_CONDITIONS} conditions")


def _field(node: dict, path: str, counts: dict) -> dict:
    _count(counts, path)
    field = node["field"]
    if not isinstance(field, str):
        raise RuleError(_join(path, "field"), f"must be a string, got {_kind(field)}")
    if field.startswith("attribute."):
        # Keys as the contacts importer names them (lower case, spaces and dashes as _).
        key = normalise_header(field.removeprefix("attribute."))
        if not ATTRIBUTE_KEY.match(key):
            raise RuleError(
                _join(path, "field"),
                f"{_show(field)}: an attribute key is 1 to 100 letters, digits, spaces or _ . -",
            )
        ops = ATTRIBUTE_OPS
        field = f"attribute.{key}"
    elif field in COLUMN_OPS:
        ops = COLUMN_OPS[field]
    else:
        raise RuleError(
            _join(path, "field"),
            f"unknown field {_show(field)} (expected attribute.<key>, {', '.join(COLUMN_OPS)})",
        )
    op = node.get("op")
    if op not in ops:
        shown = _show(op) if op is not None else "missing"
        raise RuleError(_join(path, "op"), f"{shown}: {field} takes {', '.join(ops)}")
    here = _join(path, "value")
    if op == "exists":
        value = node.get("value", True)
        if not isinstance(value, bool):
            raise RuleError(here, f"'exists' needs true or false, got {_show(value)}")
        return {"field": field, "op": op, "value": value}
    if "value" not in node:
        raise RuleError(here, f"'{op}' needs a value")
    value = node["value"]
    if field == "opted_out":
        if not isinstance(value, bool):
            raise RuleError(here, f"opted_out is true or false, got {_show(value)}")
    elif op in NUMBER_OPS:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise RuleError(here, f"'{op}' needs a number, got {_show(value)}")
    elif op in ("before", "after"):
        value = _date_value(value, here, op, with_time=not field.startswith("attribute."))
    elif op == "in":
        value = _in_values(value, here, counts, text_only=field in COLUMN_OPS)
    elif op in ("has", "contains") or field in COLUMN_OPS:
        value = _string(value, here, op)
    else:  # attribute eq / ne: a text, a number or a boolean
        value = _scalar(value, here, op)
    if field == "tag":  # tags are stored trimmed and lower-cased (contact_fields.py)
        value = [v.strip().lower() for v in value] if op == "in" else value.strip().lower()
    return {"field": field, "op": op, "value": value}


def _list(node: dict, path: str, counts: dict) -> dict:
    _count(counts, path)
    return {"list": _uuid(node["list"], _join(path, "list"), "a list id")}


def _engagement(node: dict, path: str, counts: dict) -> dict:
    _count(counts, path)
    state = node["engagement"]
    state = ENGAGEMENT_ALIASES.get(state, state) if isinstance(state, str) else state
    if state not in ENGAGEMENTS:
        raise RuleError(
            _join(path, "engagement"),
            f"{_show(state)}: expected one of {', '.join(ENGAGEMENTS)}, messaged",
        )
    leaf: dict = {"engagement": state}
    if node.get("campaign") is not None:
        leaf["campaign"] = _uuid(node["campaign"], _join(path, "campaign"), "a campaign id")
    if node.get("within_days") is not None:
        days = node["within_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise RuleError(
                _join(path, "within_days"),
                f"a whole number of days from 1 to {MAX_DAYS}, got {_show(days)}",
            )
        leaf["within_days"] = days
    return leaf


# --- values ----------------------------------------------------------------------------------


def _string(value, path: str, op: str) -> str:
    if not isinstance(value, str):
        raise RuleError(path, f"'{op}' needs a string, got {_show(value)}")
    if len(value) > MAX_STRING:
        raise RuleError(path, f"longer than {MAX_STRING} characters")
    return value


def _scalar(value, path: str, op: str):
    if isinstance(value, str):
        return _string(value, path, op)
    if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
        return value
    raise RuleError(path, f"'{op}' needs a string, a number or true/false, got {_show(value)}")


def _in_values(value, path: str, counts: dict, *, text_only: bool) -> list:
    if not isinstance(value, list) or not value:
        raise RuleError(path, f"'in' needs a non-empty list, got {_show(value)}")
    if len(value) > MAX_IN_VALUES:
        raise RuleError(path, f"more than {MAX_IN_VALUES} values")
    counts["values"] += len(value)
    if counts["values"] > 4 * MAX_IN_VALUES:
        raise RuleError(path, f"more than {4 * MAX_IN_VALUES} 'in' values in all")
    read = _string if text_only else _scalar
    return [read(item, f"{path}[{i}]", "in") for i, item in enumerate(value)]


def _date_value(value, path: str, op: str, *, with_time: bool):
    """An ISO date ("2026-05-01"), an ISO datetime with its offset (contact columns only), or
    {"days_ago": N}: relative to the time the segment is evaluated."""
    if isinstance(value, dict):
        days = value.get("days_ago")
        if set(value) != {"days_ago"} or isinstance(days, bool) or not isinstance(days, int):
            raise RuleError(path, f"'{op}' needs an ISO date or {{\"days_ago\": N}}")
        if not 0 <= days <= MAX_DAYS:
            raise RuleError(_join(path, "days_ago"), f"from 0 to {MAX_DAYS}, got {days}")
        return {"days_ago": days}
    if not isinstance(value, str) or len(value) > 40:
        raise RuleError(path, f"'{op}' needs an ISO date like 2026-05-01, got {_show(value)}")
    if ISO_DATE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise RuleError(path, f"not a calendar date: {_show(value)}") from None
        return value
    if not with_time:
        raise RuleError(path, f"'{op}' on an attribute needs a date like 2026-05-01")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RuleError(path, f"'{op}' needs an ISO date or datetime, got {_show(value)}") from None
    if parsed.tzinfo is None:
        raise RuleError(path, "a datetime needs its UTC offset, e.g. 2026-05-01T09:00:00+05:30")
    # In UTC: PostgreSQL refuses offsets Python accepts (beyond ±15:59).
    return parsed.astimezone(UTC).isoformat()


def _uuid(value, path: str, what: str) -> str:
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) and len(value) <= 40 else _bad()
    except ValueError:
        raise RuleError(path, f"needs {what} (a UUID), got {_show(value)}") from None


def _bad():
    raise ValueError


# --- messages --------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _show(value) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool) else _kind(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _keys(node: dict) -> str:
    return ", ".join(repr(str(k)[:30]) for k in list(node)[:5]) or "none"
