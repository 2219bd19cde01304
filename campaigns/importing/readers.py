"""Turn an uploaded CSV, XLSX or JSON list into rows of strings, streaming.

A reader yields `(line_number, cells)` where `line_number` is what the user sees in their
spreadsheet (the header is line 1) and `cells` maps normalised column names to stripped
strings. Whole-file problems (not a spreadsheet, no header, unreadable encoding) raise
`FileRejected` with a message for the user; nothing is read into memory whole.
"""

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal

csv.field_size_limit(1024 * 1024)

SNIFF_BYTES = 64 * 1024
_HEADER_SEP = re.compile(r"[\s\-]+")


class FileRejected(Exception):
    """The whole file is refused; nothing is imported. The message names the problem."""


def normalise_header(name) -> str:
    text = "" if name is None else str(name)
    return _HEADER_SEP.sub("_", text.replace("\ufeff", "").strip().lower())


class RowSource:
    """A file's header and its rows; iterate it once, as dicts or (faster) as lists."""

    def __init__(
        self,
        columns: list[str],
        rows: Iterator[tuple[int, list[str]]],
        kind: str,
        estimated_rows: int | None = None,
    ):
        self.columns = columns
        self._rows = rows
        self.kind = kind
        # A guess for sizing buffers up front (never trusted for anything else); None: unknown.
        self.estimated_rows = estimated_rows

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        columns = self.columns
        for line, cells in self.lists():
            yield line, dict(zip(columns, cells, strict=False))

    def lists(self) -> Iterator[tuple[int, list[str]]]:
        """The rows as lists at least as long as the header, cell i under column i (cells past
        the header are left in place, unnamed). A million dicts cost more than the rest of
        reading a CSV, so the importer indexes lists instead."""
        width = len(self.columns)
        for line, cells in self._rows:
            if not any(cells):
                continue  # blank lines (often trailing ones) are not rows
            if len(cells) < width:
                cells = [*cells, *[""] * (width - len(cells))]
            yield line, cells


def _check_header(raw: list) -> list[str]:
    columns = [normalise_header(c) for c in raw]
    while columns and not columns[-1]:
        columns.pop()
    if not any(columns):
        raise FileRejected("The file has no header row: the first line must name the columns.")
    seen = set()
    for name in columns:
        if name and name in seen:
            raise FileRejected(f"The column {name!r} appears twice in the header.")
        seen.add(name)
    return columns


# --- CSV -------------------------------------------------------------------------------------


def _detect_encoding(f) -> str:
    f.seek(0)
    head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    f.seek(0)
    sample = f.read(SNIFF_BYTES)
    if b"\x00" in sample:
        raise FileRejected("This is not a CSV file (it contains binary data).")
    # Valid UTF-8 all the way through, or else Windows' cp1252 (Excel's "CSV" on Windows).
    f.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := f.read(1024 * 1024):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _sniff_delimiter(text_sample: str) -> str:
    first_line = text_sample.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(text_sample, delimiters=",;\t").delimiter
    except csv.Error:
        counts = {d: first_line.count(d) for d in (",", ";", "\t")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_csv(f) -> RowSource:
    encoding = _detect_encoding(f)
    size = f.seek(0, io.SEEK_END)
    f.seek(0)
    text = io.TextIOWrapper(f, encoding=encoding, errors="strict", newline="")
    try:
        sample = text.read(SNIFF_BYTES)
    except UnicodeDecodeError as exc:
        raise FileRejected(f"The file is not readable text ({exc.reason}).") from exc
    if not sample.strip():
        raise FileRejected("The file is empty.")
    delimiter = _sniff_delimiter(sample)
    text.seek(0)
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected("The file is empty.") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise FileRejected(f"The file cannot be read as CSV: {exc}") from exc
    columns = _check_header(header)

    def rows():
        last = reader.line_num
        try:
            for cells in reader:
                # line_num counts physical lines (a quoted cell may span several): report the
                # line the row starts on, as a spreadsheet would show it.
                start, last = last + 1, reader.line_num
                yield start, list(map(str.strip, cells))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FileRejected(
                f"Line {reader.line_num}: the file cannot be read as CSV: {exc}"
            ) from exc

    # Rows ≈ file size / bytes per line of the sample (which may be the whole file).
    sample_bytes = len(sample.encode(encoding, errors="replace"))
    estimate = size * max(sample.count("\n"), 1) // max(sample_bytes, 1)
    return RowSource(columns, rows(), "csv", estimated_rows=estimate)


# --- XLSX ------------------------------------------------------------------------------------


def cell_text(value) -> str:
    """A spreadsheet cell as the text the user typed, not Python's repr of it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Phone numbers typed into a General cell arrive as floats: 4155550100.0.
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def read_xlsx(f) -> RowSource:
    from openpyxl import load_workbook

    f.seek(0)
    try:
        workbook = load_workbook(f, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRejected(f"This is not a readable XLSX file ({exc}).") from exc
    if not workbook.worksheets:
        raise FileRejected("The workbook has no sheet.")
    sheet = workbook.worksheets[0]  # the first sheet; the sample's help sheet comes second
    rows = sheet.iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        raise FileRejected("The first sheet is empty.") from None
    columns = _check_header(list(header))

    def cells():
        for line, row in enumerate(rows, start=2):
            yield line, [cell_text(v) for v in row]
        workbook.close()

    # The sheet's declared dimension, when the writer recorded one.
    estimate = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 1 else None
    return RowSource(columns, cells(), "xlsx", estimated_rows=estimate)


# --- JSON ------------------------------------------------------------------------------------


def read_json(records) -> RowSource:
    """A JSON list of objects in the seed's shape; the header is the union of their keys."""
    if not isinstance(records, list):
        raise FileRejected("recipients must be a JSON list of objects.")
    columns: list[str] = []
    seen = set()
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise FileRejected(f"recipients[{index - 1}] is not an object.")
        for key in record:
            name = normalise_header(key)
            if name not in seen:
                seen.add(name)
                columns.append(name)
    if not records:
        raise FileRejected("recipients is empty.")

    def rows():
        for index, record in enumerate(records, start=1):
            normalised = {normalise_header(k): v for k, v in record.items()}
            yield index, [_json_text(normalised.get(c)) for c in columns]

    # JSON "lines" are 1-based positions in the list.
    return RowSource(columns, rows(), "json", estimated_rows=len(records))


def _json_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return cell_text(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


# --- dispatch --------------------------------------------------------------------------------


def open_upload(f, filename: str = "") -> RowSource:
    """Pick the reader from the file's content (a renamed file is still what it is)."""
    f.seek(0)
    magic = f.read(4)
    f.seek(0)
    name = (filename or "").lower()
    if not magic:
        raise FileRejected("The file is empty.")
    if magic.startswith(b"PK\x03\x04"):
        return read_xlsx(f)
    if name.endswith((".xlsx", ".xlsm")):
        raise FileRejected("This is not a valid XLSX file.")
    if name.endswith(".xls") or magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected("Old Excel .xls files are not supported: save as .xlsx or .csv.")
    return read_csv(f)
