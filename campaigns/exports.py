"""Downloads: a campaign's recipients and the opt-out list, as CSV or XLSX, streamed.

The API's export endpoints and the dashboard's download buttons both call these, so a
column or a safety rule is decided once. Rows are read with a server-side cursor and written
as they are read: a million-recipient export holds a few thousand rows in memory at a time.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from config.errors import Invalid
from config.xlsx_stream import xlsx_stream
from whatsapp.variables import variables_for

from .models import Campaign, OptOut, Recipient
from .models_numbers import numbers_of
from .preflight import message_cost
from .selectors import NumberLabels, sending_number_id
from .tracking.counters import STATE_COLUMNS

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
XLSX_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header
CHUNK = 5000
# A spreadsheet runs a cell that begins with one of these as a formula (OWASP's "CSV
# injection"); the CSV export prefixes such a cell with an apostrophe, which spreadsheets
# show as plain text and people still read. XLSX cells are typed as text, so they need none.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

RECIPIENT_FIELDS = (
    "phone",
    "values",
    "status",
    "skip_reason",
    "attempts",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "replied_at",
    "clicked_at",
    "next_attempt_at",
    "wamid",
    "message_status",
    "error_code",
    "error_title",
    "error_details",
    "pricing_category",
    "pricing_billable",
    "pricing_type",
    "pricing_model",
    "source_line",
)
# Where the export's `cost` column reads Meta's pricing from, within RECIPIENT_FIELDS.
_PRICING = slice(
    RECIPIENT_FIELDS.index("pricing_category"), RECIPIENT_FIELDS.index("pricing_model")
)


class ExportError(Invalid):
    code = "invalid_export"


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    chunks: Iterator


def safe_cell(value):
    """A text cell a spreadsheet would run as a formula, made plain text (CSV)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_cell(value):
    """A value as CSV text: times in ISO 8601 UTC, None empty, formula text neutralised.
    (Called for every cell of a million-row export: the common types are tested first.)"""
    kind = value.__class__
    if kind is str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if kind is datetime:
        return value.isoformat().replace("+00:00", "Z")
    return value


def csv_stream(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV text in ~64 KB chunks, with a byte-order mark so that Excel reads it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(header)
    for row in rows:
        writer.writerow(map(_csv_cell, row))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _download(fmt: str, name: str, header: list[str], rows: Iterable, count: int) -> Download:
    if fmt not in FORMATS:
        raise ExportError(f"format must be csv or xlsx, not {fmt[:20]!r}.", field="format")
    if fmt == "xlsx" and count > XLSX_MAX_ROWS:
        raise ExportError(
            f"{count:,} rows do not fit in an Excel sheet ({XLSX_MAX_ROWS + 1:,} rows at most): "
            "download them as CSV, or filter by status.",
            field="format",
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    chunks = xlsx_stream(header, rows) if fmt == "xlsx" else csv_stream(header, rows)
    return Download(f"{name}-{stamp}.{fmt}", CONTENT_TYPES[fmt], chunks)


def parse_statuses(raw: str | None, allowed) -> list[str]:
    """`status=failed,skipped` → ["failed", "skipped"]; an unknown one is a 400 naming it."""
    statuses = [s.strip() for s in (raw or "").split(",") if s.strip()]
    unknown = [s for s in statuses if s not in allowed]
    if unknown:
        raise ExportError(
            f"Unknown status {unknown[0][:30]!r}; one of {', '.join(allowed)}.", field="status"
        )
    return statuses


def recipients_export(*, campaign: Campaign, statuses: list[str], fmt: str) -> Download:
    """The campaign's recipients (of `statuses`, all if empty) in import order: phone, one
    column per template variable, status and its times, wamid, Meta's error, and the path
    and number its send took."""
    value_columns = [v.column for v in variables_for(campaign.template)]
    header = [
        "phone",
        *value_columns,
        *(f for f in RECIPIENT_FIELDS if f not in ("phone", "values")),
        "cost",  # Meta's pricing on its status, priced by PRICE_TABLE_JSON (0: free)
        "send_path",  # the endpoint its send took: messages, marketing_messages, "" (not sent)
        "number",  # the display number it was sent from (its phone number id); "" (not sent)
    ]
    labels = NumberLabels(numbers_of(campaign))
    sent_at = RECIPIENT_FIELDS.index("sent_at")

    def number(row) -> str:
        pk = sending_number_id(campaign, number_id=row[-1], send_path=row[-2], sent_at=row[sent_at])
        return "" if pk is None else labels[pk]

    recipients: QuerySet = Recipient.objects.filter(campaign=campaign)
    if statuses:
        recipients = recipients.filter(status__in=statuses)
    count = sum(getattr(campaign, STATE_COLUMNS[s]) for s in (statuses or list(STATE_COLUMNS)))
    rows = (
        (
            row[0],
            *(_value(row[1], c) for c in value_columns),
            *row[2:-2],
            message_cost(row[0], *row[_PRICING]),
            row[-2],
            number(row),
        )
        for row in recipients.order_by("id")
        .values_list(*RECIPIENT_FIELDS, "send_path", "number_id")
        .iterator(chunk_size=CHUNK)
    )
    name = f"campaign-{str(campaign.pk)[:8]}" + (f"-{'-'.join(statuses)}" if statuses else "")
    return _download(fmt, name, header, rows, count)


def _value(values, column: str):
    if not isinstance(values, dict):
        return ""
    value = values.get(column, "")
    return value if isinstance(value, str) else str(value)


OPTOUT_HEADER = ["phone", "source", "detail", "opted_out_at", "workspace"]


def optouts_export(*, opt_outs: QuerySet[OptOut], fmt: str) -> Download:
    """The opt-out list (already scoped to the caller's workspaces), newest first."""
    rows = (
        list(row)
        for row in opt_outs.order_by("-opted_out_at", "id")
        .values_list("phone", "source", "detail", "opted_out_at", "workspace__name")
        .iterator(chunk_size=CHUNK)
    )
    return _download(fmt, "opt-outs", OPTOUT_HEADER, rows, opt_outs.count())
