"""A campaign's audience and column mapping: what they may say, checked once when the campaign
is created or edited (docs/audiences.md §5), and how a contact's values are read from them.

The mapping fills each template column (`whatsapp.variables.variables_for`) from a contact:
`field:<name|phone|locale|time_zone>`, `attribute:<key>` (the contact's `attributes[key]`) or
`text:<literal>` (the same for everybody). A required column must be mapped once an audience
is set; a literal is checked against its column right away (it cannot differ per contact).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from config.errors import Invalid
from whatsapp.payload import check_value
from whatsapp.variables import Variable

from ..models import Campaign, ContactList, Segment

AUDIENCE_KEYS = ("lists", "segments", "exclude_lists", "exclude_segments")
FIELDS = ("name", "phone", "locale", "time_zone")
KINDS = ("field", "attribute", "text")
ATTRIBUTE_MAX = 100
IDS_MAX = 100


class AudienceError(Invalid):
    """An audience or mapping that cannot be used; `field` names the entry at fault (a 400)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where one column's value comes from: kind "field", "attribute" or "text", and its
    argument (the field's or attribute's name, or the literal text)."""

    kind: str
    arg: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}"


def parse_source(column: str, spec) -> Source:
    field = f"mapping.{column}"
    if not isinstance(spec, str) or ":" not in spec:
        raise AudienceError(
            f"{column}: give field:<{'|'.join(FIELDS)}>, attribute:<name> or text:<value>.",
            field=field,
        )
    kind, arg = spec.split(":", 1)
    if kind not in KINDS:
        raise AudienceError(
            f"{column}: unknown source {kind!r}; use field:, attribute: or text:.", field=field
        )
    if kind == "field" and arg not in FIELDS:
        raise AudienceError(
            f"{column}: unknown contact field {arg!r}; one of {', '.join(FIELDS)}.", field=field
        )
    if kind == "attribute" and (not 0 < len(arg) <= ATTRIBUTE_MAX or "\x00" in arg):
        raise AudienceError(
            f"{column}: an attribute name of 1 to {ATTRIBUTE_MAX} characters.", field=field
        )
    return Source(kind, arg)


def mapping_sources(mapping: dict) -> dict[str, Source]:
    """The stored (already validated) mapping, parsed."""
    return {column: parse_source(column, spec) for column, spec in (mapping or {}).items()}


def mapping_clean(*, variables: list[Variable], mapping, audience_set: bool) -> dict:
    """The mapping as stored, or AudienceError naming the entry at fault."""
    if mapping in (None, ""):
        mapping = {}
    if not isinstance(mapping, dict):
        raise AudienceError(
            'mapping must be an object: {"body_param_1": "field:name", …}.', field="mapping"
        )
    by_column = {v.column: v for v in variables}
    for column, spec in mapping.items():
        if column not in by_column:
            known = ", ".join(by_column) or "none"
            raise AudienceError(
                f"{column!r} is not a column of this template (its columns: {known}).",
                field=f"mapping.{column}",
            )
        source = parse_source(column, spec)
        if source.kind == "text":
            problem = check_value(by_column[column], source.arg)
            if problem is not None:
                raise AudienceError(problem, field=f"mapping.{column}")
    if audience_set:
        missing = [v.column for v in variables if v.required and v.column not in mapping]
        if missing:
            raise AudienceError(
                f"Map every required column of the template: {', '.join(missing)} "
                "(field:…, attribute:… or text:…).",
                field=f"mapping.{missing[0]}",
            )
    return dict(mapping)


def audience_clean(*, workspace_id, audience) -> dict:
    """The audience as stored ({} for none), or AudienceError naming the key at fault: list
    and segment ids must be this workspace's."""
    if audience in (None, ""):
        return {}
    if not isinstance(audience, dict):
        raise AudienceError(
            'audience must be an object: {"lists": [...], "segments": [...], …}.', field="audience"
        )
    unknown = [k for k in audience if k not in AUDIENCE_KEYS]
    if unknown:
        raise AudienceError(
            f"Unknown audience key {unknown[0]!r}; use {', '.join(AUDIENCE_KEYS)}.",
            field=f"audience.{unknown[0]}",
        )
    cleaned: dict[str, list[str]] = {}
    for key in AUDIENCE_KEYS:
        ids = _ids(key, audience.get(key) or [])
        model = ContactList if key.endswith("lists") else Segment
        found = {
            str(pk)
            for pk in model.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list(
                "pk", flat=True
            )
        }
        missing = [i for i in ids if i not in found]
        if missing:
            kind = "list" if model is ContactList else "segment"
            raise AudienceError(f"Unknown {kind} {missing[0]}.", field=f"audience.{key}")
        if ids:
            cleaned[key] = ids
    if cleaned and not (cleaned.get("lists") or cleaned.get("segments")):
        raise AudienceError(
            "An audience needs at least one list or segment to send to.", field="audience.lists"
        )
    return cleaned


def _ids(key: str, value) -> list[str]:
    if not isinstance(value, list) or len(value) > IDS_MAX:
        raise AudienceError(f"{key}: a list of at most {IDS_MAX} ids.", field=f"audience.{key}")
    ids = []
    for item in value:
        try:
            ids.append(str(uuid.UUID(str(item))))
        except ValueError:
            raise AudienceError(
                f"{key}: {str(item)[:40]!r} is not an id.", field=f"audience.{key}"
            ) from None
    return list(dict.fromkeys(ids))


def campaign_audience_set(*, campaign: Campaign, variables, audience=None, mapping=None) -> None:
    """Validate and set `campaign.audience` / `.mapping` (None: keep), checked together."""
    if audience is not None:
        campaign.audience = audience_clean(workspace_id=campaign.workspace_id, audience=audience)
    if mapping is not None or audience is not None:
        campaign.mapping = mapping_clean(
            variables=variables,
            mapping=campaign.mapping if mapping is None else mapping,
            audience_set=bool(campaign.audience),
        )


def attribute_text(value) -> str | None:
    """An attribute as text, as PostgreSQL's `->>` gives it (so both paths agree)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def contact_values(sources: dict[str, Source], contact: dict) -> dict[str, str | None]:
    """One contact's value per mapped column (None: it has none). `contact`: its fields and
    `attributes` as a dict."""
    values: dict[str, str | None] = {}
    for column, source in sources.items():
        if source.kind == "text":
            values[column] = source.arg
        elif source.kind == "field":
            values[column] = contact.get(source.arg) or None
        else:
            attributes = contact.get("attributes") or {}
            text = (
                attribute_text(attributes.get(source.arg)) if isinstance(attributes, dict) else None
            )
            values[column] = text or None
    return values
