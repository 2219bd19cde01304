"""Sample spreadsheets for a template: exactly the columns it needs, one example row.

CSV is UTF-8 with a BOM (so Excel detects the encoding). XLSX has the phone columns
formatted as text, so Excel never turns 4155550100 into 4.16E+09, a bold header, and a second
sheet explaining every column.
"""

import csv
import io
import re

from whatsapp.preview import render_preview
from whatsapp.variables import PHONE_COLUMNS, Variable, spreadsheet_columns, variables_for

from .models import MessageTemplate

TEXT_FORMAT = "@"
# Rows pre-formatted as text in the phone columns, so pasted numbers stay text too.
TEXT_ROWS = 1_000
EXAMPLE_PHONE = {"country_code": "+1", "phone_number": "4155550100"}
# Row 2 is an example, shown grey and italic with a note; the importer recognises and skips it.
EXAMPLE_NOTE = (
    "This row is an example. Broadcast recognises it and never imports it: write your "
    "recipients below it, or over it."
)

_PLACES = {
    "header": "Header",
    "body": "Body",
    "button": "Button",
    "offer": "Limited-time offer",
}
# Optional values the example leaves blank (a made-up one would be sent as is).
_OPTIONAL_BLANK = frozenset({"flow_token", "flow_data"})
_KIND_HELP = {
    "text": "Text that replaces the placeholder.",
    "image": "Public https:// link to a JPEG or PNG image.",
    "video": "Public https:// link to an MP4 video.",
    "document": "Public https:// link to a PDF document.",
    "url": "The end of the button's link (no spaces): it is appended to the template's URL.",
    "copy_code": "The code the recipient copies (at most 15 characters).",
    "payload": "Optional: what comes back to you when the recipient taps this quick reply.",
    "latitude": "The location's latitude, a number from -90 to 90.",
    "longitude": "The location's longitude, a number from -180 to 180.",
    "location_name": "Optional: the location's name, shown under the map.",
    "location_address": "Optional: the location's address, shown under its name.",
    "product_id": "The product's retailer id (SKU) in your catalog.",
    "catalog_id": "The id of the catalog the product is in (digits, from Commerce Manager).",
    "sections": (
        "The products to show, by section: 'Title: SKU1, SKU2; Other title: SKU3' "
        "(at most 10 sections and 30 products)."
    ),
    "flow_token": "Optional: the token your flow endpoint receives ('unused' without it).",
    "flow_data": 'Optional: a JSON object for the flow\'s first screen, e.g. {"name": "Ana"}.',
    "expiration": (
        "When the offer ends: 2026-12-31T23:59:00Z, 2026-12-31 23:59 (the installation's time "
        "zone) or Unix time. A row whose offer has ended by its send time is skipped."
    ),
    "destination": (
        "Where the tracked link takes the recipient (https://…). Broadcast counts the click, "
        "then redirects."
    ),
}


def sample_filename(template: MessageTemplate, fmt: str) -> str:
    safe = re.sub(r"[^a-z0-9_]+", "_", template.name.lower()).strip("_") or "template"
    return f"{safe}_sample.{fmt}"


def example_row(variables: list[Variable]) -> dict[str, str]:
    row = dict(EXAMPLE_PHONE)
    for v in variables:
        row[v.column] = v.example or _fallback_example(v)
    return row


def sample_example(variables: list[Variable]) -> tuple[str, dict[str, str]]:
    """The sample's example row as the importer reads it: its number (E.164) and its values
    (the non-empty ones). The importer skips a row equal to it, so an example left above
    real recipients is never sent to (campaigns/importing/pipeline.py)."""
    phone = EXAMPLE_PHONE["country_code"] + EXAMPLE_PHONE["phone_number"]
    row = example_row(variables)
    values = {v.column: row[v.column] for v in variables if row.get(v.column)}
    return phone, values


def _fallback_example(v: Variable) -> str:
    if v.kind in _OPTIONAL_BLANK:
        return ""
    if v.kind == "product_id":
        return "SKU-1001"
    if v.kind in ("image", "video", "document"):
        ext = {"image": "jpg", "video": "mp4", "document": "pdf"}[v.kind]
        return f"https://example.com/media/sample.{ext}"
    if v.kind == "payload":
        return "more-like-this" if v.required else ""
    if v.kind == "copy_code":
        return "SAVE10"
    return f"value {v.position}" if v.position else (v.name or "value")


def sample_csv(template: MessageTemplate) -> bytes:
    variables = variables_for(template)
    columns = spreadsheet_columns(variables)
    row = example_row(variables)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow([row.get(c, "") for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def sample_xlsx(template: MessageTemplate) -> bytes:
    # openpyxl only here: loaded at import it costs every process ~13 MB (the importer, the
    # senders, the web) that never writes a workbook.
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    variables = variables_for(template)
    columns = spreadsheet_columns(variables)
    row = example_row(variables)
    wb = Workbook()
    ws = wb.active
    ws.title = "Recipients"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="E8F5F3")
    for col, name in enumerate(columns, start=1):
        header = ws.cell(row=1, column=col, value=name)
        header.font, header.fill = bold, fill
        cell = ws.cell(row=2, column=col, value=row.get(name, ""))
        cell.number_format = TEXT_FORMAT
        cell.font = Font(italic=True, color="808080")
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = max(16, min(60, len(name) + 4))
        if name in PHONE_COLUMNS:
            # Text, not numbers: Excel would otherwise drop the "+" and write 4.16E+09.
            ws.column_dimensions[letter].number_format = TEXT_FORMAT
            for r in range(3, TEXT_ROWS + 1):
                ws.cell(row=r, column=col).number_format = TEXT_FORMAT
    ws.freeze_panes = "A2"
    ws.cell(row=2, column=1).comment = Comment(EXAMPLE_NOTE, "Broadcast")

    help_ws = wb.create_sheet("Columns")
    help_ws.append(["Column", "Goes into", "Required", "Example", "Max length", "What to put"])
    for cell in help_ws[1]:
        cell.font, cell.fill = bold, fill
    help_ws.append(
        [
            "country_code",
            "Recipient",
            "yes",
            "+1",
            "",
            "Country calling code: +1, 1 or 001. Leave empty if phone_number starts with +.",
        ]
    )
    help_ws.append(
        [
            "phone_number",
            "Recipient",
            "yes",
            "4155550100",
            "",
            "The number, spaces and dashes allowed; or the full +… number.",
        ]
    )
    for v in variables:
        place = _PLACES[v.component]
        if v.button_index is not None:
            place = f"Button {v.button_index + 1}"
        if v.card is not None:
            place = f"Card {v.card} {place.lower()}"
        elif v.position:
            place = f"{place} {{{{{v.position}}}}}"
        elif v.name:
            place = f"{place} {{{{{v.name}}}}}"
        help_ws.append(
            [
                v.column,
                place,
                "yes" if v.required else "no",
                row.get(v.column, ""),
                v.max_length or "",
                _KIND_HELP.get(v.kind, ""),
            ]
        )
    help_ws.append([])
    preview = render_preview(
        components=template.components, parameter_format=template.parameter_format, values={}
    )
    help_ws.append(["Template", f"{template.name} ({template.language}, {template.category})"])
    for label, key in (("Header", "header"), ("Body", "body"), ("Footer", "footer")):
        if preview.get(key):
            help_ws.append([label, preview[key]])
    if preview.get("buttons"):
        help_ws.append(["Buttons", " | ".join(preview["buttons"])])
    for letter, width in zip("ABCDEF", (24, 18, 10, 28, 11, 70), strict=True):
        help_ws.column_dimensions[letter].width = width
    for r in help_ws.iter_rows(min_row=2):
        for cell in r:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
