"""A workspace's contacts as CSV or XLSX (the API's export and the dashboard's download), with
the columns an import reads back: phone_number (E.164), name, tags, locale, time_zone, then
one column per attribute key; the subscription and the times after them. Cells are made
formula-safe by campaigns/exports.py (CSV) or typed as text (XLSX), rows streamed."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from ..exports import CHUNK, Download, _download
from ..models import Contact

FIXED = ["phone_number", "name", "tags", "locale", "time_zone"]
TAIL = ["subscription", "opted_out_at", "created_at", "last_messaged_at", "last_replied_at"]


def _attribute_keys(contacts: QuerySet[Contact]) -> list[str]:
    if connection.vendor == "postgresql":
        ids = contacts.order_by().values("id")
        with connection.cursor() as c:
            sql, params = ids.query.sql_with_params()
            c.execute(
                "SELECT DISTINCT jsonb_object_keys(attributes) FROM "
                f"{Contact._meta.db_table} WHERE id IN ({sql})",
                params,
            )
            return sorted(row[0] for row in c.fetchall())
    keys: set[str] = set()
    for attributes in contacts.values_list("attributes", flat=True).iterator(chunk_size=CHUNK):
        keys.update(attributes or {})
    return sorted(keys)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def contacts_export(*, contacts: QuerySet[Contact], fmt: str) -> Download:
    """`contacts` (already scoped and filtered, annotated by contacts.with_subscription)."""
    keys = _attribute_keys(contacts)
    header = [*FIXED, *(k for k in keys if k not in FIXED and k not in TAIL), *TAIL]
    shown_keys = header[len(FIXED) : len(header) - len(TAIL)]
    fields = [
        *("phone", "name", "tags", "locale", "time_zone", "attributes", "opted_out_at"),
        *("created_at", "last_messaged_at", "last_replied_at"),
    ]
    rows = (
        [
            phone,
            name,
            ",".join(tags or []),
            locale,
            zone,
            *(_text((attributes or {}).get(k)) for k in shown_keys),
            "opted_out" if opted_out_at else "opted_in",
            opted_out_at,
            created,
            messaged,
            replied,
        ]
        for (
            phone,
            name,
            tags,
            locale,
            zone,
            attributes,
            opted_out_at,
            created,
            messaged,
            replied,
        ) in contacts.order_by("-id").values_list(*fields).iterator(chunk_size=CHUNK)
    )
    return _download(fmt, "contacts", header, rows, contacts.count())
