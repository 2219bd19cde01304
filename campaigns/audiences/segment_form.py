"""The segment builder's form (campaigns/views_audiences.py) ↔ rules: a row per condition
(field, op, value, a "not" toggle) under all/any, or the rules as JSON for nested groups.
Values are typed text; this reads them as the rule language wants them (docs/audiences.md §4)
and `rules.validate_rules` has the last word."""

import json
import re

from .rules import RuleError

MAX_ROWS = 200
MAX_JSON = 100_000
DAYS_AGO = re.compile(r"^(\d{1,4})\s*d(ays?)?(\s+ago)?$", re.IGNORECASE)
TRUE, FALSE = ("", "true", "yes", "1"), ("false", "no", "0")


def rules_from_form(data, *, workspace_id=None) -> dict:
    """The rules the form describes (not yet validated)."""
    if data.get("advanced") == "on":
        text = data.get("rules_json", "")
        if len(text) > MAX_JSON:
            raise RuleError("", f"the JSON is over {MAX_JSON:,} characters")
        try:
            return json.loads(text or "{}")
        except (ValueError, RecursionError) as exc:
            raise RuleError("", f"not JSON: {str(exc)[:120]}") from None
    match = "any" if data.get("match") == "any" else "all"
    conditions = []
    for i in range(MAX_ROWS):
        field = data.get(f"row-{i}-field", "").strip()
        if not field:
            continue
        row = {k: data.get(f"row-{i}-{k}", "").strip() for k in ("key", "op", "value")}
        leaf = _leaf(field, row)
        if data.get(f"row-{i}-not") == "on":
            leaf["not"] = True
        conditions.append(leaf)
    return {match: conditions}


def _leaf(field: str, row: dict) -> dict:
    op, text = row["op"], row["value"]
    if field == "list":
        return {"list": text}
    if field == "engagement":
        leaf: dict = {"engagement": op}
        if text:
            leaf["within_days"] = int(text) if text.isdigit() else text
        return leaf
    if field == "attribute":
        field = f"attribute.{row['key']}"
    return {"field": field, "op": op, "value": _value(field, op, text)}


def _value(field: str, op: str, text: str):
    if op == "exists" or field == "opted_out":
        lowered = text.lower()
        return True if lowered in TRUE else False if lowered in FALSE else text
    if op in ("gt", "gte", "lt", "lte"):
        return _number(text, strict=False)
    if op in ("before", "after"):
        days = DAYS_AGO.match(text)
        return {"days_ago": int(days.group(1))} if days else text
    attribute = field.startswith("attribute.")
    if op == "in":
        items = [item.strip() for item in text.split(",") if item.strip()]
        return [_typed(item) for item in items] if attribute else items
    return _typed(text) if attribute and op in ("eq", "ne") else text


def _typed(text: str):
    """An attribute's eq value: a whole number or true/false as such (each also matches its
    text form), anything else as text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return _number(text, strict=True)


def _number(text: str, *, strict: bool):
    if re.fullmatch(r"-?[1-9][0-9]{0,15}|0", text):
        return int(text)
    if not strict:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def rows_from_rules(rules: dict) -> tuple[list[dict] | None, str]:
    """The rows for normalised rules and their all/any, or (None, "all") when they nest
    deeper than rows can show (edit them as JSON)."""
    if not any(k in rules for k in ("all", "any")):
        rules = {"all": [rules]}
    match = "any" if "any" in rules else "all"
    rows = []
    for child in rules[match]:
        negated = set(child) == {"not"}
        leaf = child["not"] if negated else child
        row = _row(leaf)
        if row is None:
            return None, "all"
        rows.append({**row, "not": negated})
    return rows, match


def _row(leaf: dict) -> dict | None:
    if "list" in leaf:
        return {"field": "list", "value": leaf["list"]}
    if "engagement" in leaf:
        if "campaign" in leaf:
            return None
        return {
            "field": "engagement",
            "op": leaf["engagement"],
            "value": leaf.get("within_days", ""),
        }
    if "field" not in leaf:
        return None
    field, value = leaf["field"], leaf["value"]
    key = ""
    if field.startswith("attribute."):
        field, key = "attribute", field.removeprefix("attribute.")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = f"{value['days_ago']} days ago"
    else:
        text = str(value)
    return {"field": field, "key": key, "op": leaf["op"], "value": text}
