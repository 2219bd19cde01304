"""Reading an XLSX workbook's first sheet as rows of text, streamed at CSV-like speed.

openpyxl's read-only mode builds an element and a cell object for every cell (~15,000 rows a
second here) and keeps the whole shared-strings table as Python strings. This reader reads the
sheet's XML from the zip in chunks and takes the cells out with regular expressions, which run
in C: Excel, LibreOffice, Google Sheets and openpyxl all write the same few shapes
(`<c r="B2" s="1" t="s"><v>7</v></c>`), and anything else in a cell falls back to a general
path. The shared strings are kept as one UTF-8 buffer with offsets, not a million objects.

What a cell becomes is what openpyxl (`data_only=True`) and `readers.cell_text` made of it:
numbers as typed (4155550100, not 4155550100.0), dates by the cell's number format, formulas
by their cached value, booleans as TRUE/FALSE, errors as their code (#N/A). The tests compare
the two readers on the same workbooks.

Whole-file problems raise `FileRejected` (see readers), as openpyxl's errors did.
"""

import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time

from django.conf import settings

from config.errors import TOO_LARGE

from .readers import FileRejected, RowSource, _check_header, cell_text, shown
from .xlsx_parts import (
    MAX_COLUMNS,
    MAX_ROW_CHARS,
    Unreadable,
    Workbook,
    _chunks,
    _rich_text,
    _unescape,
    _whole,
    from_excel,
)


def _unreadable_xlsx(exc: Exception) -> FileRejected:
    detail = str(exc) or type(exc).__name__
    return FileRejected(f"This is not a readable XLSX file ({shown(detail, 200)}).")


def check_archive(f) -> None:
    """Refuse a workbook that would inflate beyond the limits before anything reads it (a
    "decompression bomb": a 1 MB upload can unpack to gigabytes). The sizes checked are the
    ones the archive declares: Python's zipfile never inflates a member past its declared
    size (it fails on the checksum instead), so they bound what the reader can read. The shared
    strings are read into memory whole, so they have a limit of their own."""
    limits = settings.IMPORT_XLSX_LIMITS
    try:
        with zipfile.ZipFile(f) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable_xlsx(exc) from exc
    finally:
        f.seek(0)
    total = sum(m.file_size for m in members)
    if total > limits["unpacked_bytes"]:
        raise FileTooBigUnpacked(
            f"This workbook unpacks to {total / 1_048_576:,.0f} MB; the limit is "
            f"{limits['unpacked_bytes'] / 1_048_576:,.0f} MB. Save it as CSV, or split it."
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1_048_576 and ratio > limits["ratio"]:
            raise FileTooBigUnpacked(
                f"This workbook's part {shown(member.filename, 60)} unpacks {ratio:,.0f} times "
                "its size; Excel never writes that. It is refused as a decompression bomb."
            )
        if member.filename.lower().endswith("sharedstrings.xml") and (
            member.file_size > limits["shared_strings_bytes"]
        ):
            raise FileTooBigUnpacked(
                f"This workbook's text table is {member.file_size / 1_048_576:,.0f} MB; the "
                f"limit is {limits['shared_strings_bytes'] / 1_048_576:,.0f} MB. Save it as "
                "CSV, or split it."
            )


class FileTooBigUnpacked(FileRejected):
    """A workbook over the unpacked-size limits (an API 413)."""

    code = "file_too_large"
    kind = TOO_LARGE
    field = None


def read_xlsx(f) -> RowSource:
    """The first worksheet's rows (see xlsx: streamed, not through openpyxl)."""
    f.seek(0)
    check_archive(f)
    # A damaged workbook fails in many ways (zip errors, missing parts, broken XML), when
    # opened or in the middle of the rows: each one refuses the file.
    try:
        sheet = open_first_sheet(f)
        rows = sheet.rows()
        header = next(rows)
    except StopIteration:
        raise FileRejected("The first sheet is empty.") from None
    except Unreadable as exc:
        raise _unreadable_xlsx(exc) from exc
    line, cells = header
    if line != 1:  # as for a CSV: the header is the first line, never a later one
        raise FileRejected("The file has no header row: the first line must name the columns.")
    columns = _check_header(cells)
    # The sheet's declared dimension, when the writer recorded one: only a guess for sizing
    # (writers leave it stale), never a limit on what is read.
    estimate = sheet.dimension_rows if (sheet.dimension_rows or 0) > 1 else None

    def cells_after_header():
        try:
            yield from rows
        except Unreadable as exc:
            raise FileRejected(f"Line {sheet.last_line + 1}: {_unreadable_xlsx(exc)}") from exc

    return RowSource(columns, cells_after_header(), "xlsx", estimated_rows=estimate)


# --- the sheet -------------------------------------------------------------------------------


def _column(letters: str, cache: dict[str, int]) -> int:
    index = cache.get(letters)
    if index is None:
        index = 0
        for char in letters:
            index = index * 26 + ord(char) - 64
        index -= 1
        if index >= MAX_COLUMNS:
            raise Unreadable(f"the cell column {letters} is past Excel's last column (XFD)")
        cache[letters] = index
    return index


class Sheet:
    """The rows of one worksheet: `(row number, [cell text…])`, each list as long as the row's
    last cell, missing cells "" (a row with no cell is not yielded: it is blank)."""

    def __init__(self, workbook: Workbook, part: str):
        self.workbook = workbook
        self.part = part
        self.dimension_rows: int | None = None
        self._columns: dict[str, int] = {}
        self.last_line = 0  # the number of the last row read

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        pieces = _chunks(self.workbook.archive, self.part)
        head = ""
        for piece in pieces:  # up to <sheetData>, where the rows start
            head += piece
            start = re.search(r"<(\w+:)?sheetData(\s*/)?>", head)
            if start is not None or len(head) > MAX_ROW_CHARS:
                break
        else:
            start = None
        if start is None:
            raise Unreadable("the sheet has no <sheetData> element")
        p = start.group(1) or ""
        if not re.search(rf"<{p}worksheet[\s>]", head[: start.start()]):
            raise Unreadable("the sheet has no <worksheet> element")
        dimension = re.search(rf'<{p}dimension\s+ref="[A-Z]*\d+:[A-Z]*(\d+)"', head)
        if dimension:
            self.dimension_rows = int(dimension.group(1))
        if start.group(2):  # <sheetData/>: no rows at all
            return
        ended = False
        rows = re.compile(rf"<{p}row[\s>/]")
        for text in _whole(head[start.end() :], pieces, rows):
            stop = text.find(f"</{p}sheetData>")
            if stop >= 0:
                text, ended = text[:stop], True
            yield from self._parse(text, p)
            if ended:
                break
        if not ended:
            raise Unreadable("the sheet ends before its last row (the file is truncated)")

    def _parse(self, text: str, p: str) -> Iterator[tuple[int, list[str]]]:
        """The rows in `text` (whole rows, see _whole). One regular expression finds row starts
        and cells in document order; a cell in the usual shape is read from its groups, any
        other through _generic."""
        strings, dates = self.workbook.strings, self.workbook.date_styles
        columns, last = self._columns, self.last_line
        typed = self._typed
        line, cells = 0, None
        for row, row_attrs, col, style, kind, v, other in _pattern(p).findall(text):
            if row or row_attrs or cells is None:
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    yield line, cells
                if row:
                    line = int(row)
                else:
                    number = _ROW_NUMBER.search(row_attrs)
                    line = int(number.group(1)) if number else last + 1
                if line <= last:
                    line = last + 1  # out of order or repeated: numbered on, never dropped
                last, cells = line, []
                if row or row_attrs:
                    continue
            # The commonest shapes inline (a shared string, inline text, a plain number); any
            # other value through _typed, any other cell through _cell_value.
            if other:
                col, style, kind, inner = _generic(other)
                value = self._cell_value(kind, style, inner, p)
            elif kind == "s":
                try:
                    value = strings[int(v)]
                except (ValueError, IndexError):
                    value = typed(kind, style, v)  # refuses the file, saying why
            elif kind == "inlineStr":
                value = (_unescape(v) if "&" in v else v).strip()
            elif (
                (not kind or kind == "n")
                and v.isdigit()
                and v[0] != "0"
                and not (style and int(style) in dates)
            ):
                value = v
            else:
                value = typed(kind, style, v)
            if col:
                index = columns.get(col)
                if index is None:
                    index = _column(col, columns)
            else:
                index = len(cells)
            if index == len(cells):
                cells.append(value)
            elif index > len(cells):
                cells.extend([""] * (index - len(cells)))
                cells.append(value)
            else:
                cells[index] = value
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            yield line, cells
        self.last_line = last

    def _cell_value(self, kind: str, style: str, inner: str, p: str) -> str:
        """The text of a cell in any shape, from its type (`t`), style (`s`) and content."""
        if not inner:
            return ""
        if kind == "inlineStr":
            return _rich_text(inner).strip()
        # A formula and its cached value, or something unusual: the value is in <v>.
        match = re.search(rf"<{p}v>(.*?)</{p}v>", inner, re.S)
        if match is None:
            return ""  # a formula never calculated: no value, as openpyxl reads it
        return self._typed(kind, style, match.group(1))

    def _typed(self, kind: str, style: str, value: str) -> str:
        """A cell's value (the text of its <v>) as text, by its type and style."""
        if not value:
            return ""
        if kind == "s":
            try:
                return self.workbook.strings[int(value)]
            except (ValueError, IndexError):
                raise Unreadable(f"a cell refers to a missing shared string {value!r}") from None
        if kind in ("", "n"):
            if style and int(style) in self.workbook.date_styles:
                return self._date(value, int(style))
            if value.isdigit():
                return value if value[0] != "0" else str(int(value))
            return _number(value)
        if kind == "b":
            return "TRUE" if value.strip() not in ("0", "false") else "FALSE"
        if kind == "d":
            try:
                return cell_text(_iso8601(value))
            except ValueError:
                return value
        return _unescape(value).strip()  # str (a formula's text), e (an error code), other

    def _date(self, value: str, style: int) -> str:
        try:
            number = _cast(value)
            moment = from_excel(
                number, self.workbook.epoch, duration=style in self.workbook.timedelta_styles
            )
        except (OverflowError, ValueError):
            return "#VALUE!"
        return cell_text(moment)


def _iso8601(text: str) -> date | time | datetime:
    """A `t="d"` cell (ISO 8601: a date, a time or both)."""
    if "T" in text or " " in text:
        return datetime.fromisoformat(text.rstrip("Z"))
    if ":" in text:
        return time.fromisoformat(text)
    return date.fromisoformat(text)


_PATTERNS: dict[str, re.Pattern] = {}


def _pattern(p: str) -> re.Pattern:
    """Row starts and cells, for the namespace prefix `p`. Groups: the row number (a row in
    the usual shape) or its attributes (any other); a cell in the usual shape (attributes r, s,
    t in this order, a plain value or inline text): column, style, type, value; any other
    cell, whole."""
    if p not in _PATTERNS:
        _PATTERNS[p] = re.compile(
            rf'<{p}row r="(\d+)"[^>]*>|(<{p}row\b[^>]*>)'
            rf'|<{p}c r="([A-Z]{{1,3}})\d+"(?: s="(\d+)")?(?: t="(\w+)")?>'
            rf"(?:<{p}v>|<{p}is><{p}t>)([^<]*)(?:</{p}v>|</{p}t></{p}is>)</{p}c>"
            rf"|(<{p}c\b[^>]*/>|<{p}c\b[^>]*>.*?</{p}c>)",
            re.S,
        )
    return _PATTERNS[p]


_CELL = re.compile(r"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*)</(?:\w+:)?c>)", re.S)


def _generic(xml: str) -> tuple[str, str, str, str]:
    """A cell in any shape: (column, style, type, its content)."""
    match = _CELL.match(xml)
    if match is None:
        return "", "", "", ""
    col, style, kind = _attributes(match.group(1), "", "", "")
    return col, style, kind, match.group(2) or ""


_ROW_NUMBER = re.compile(r'\br="(\d+)"')
_ATTRIBUTE = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')


def _attributes(rest: str, col: str, style: str, kind: str) -> tuple[str, str, str]:
    """A cell whose attributes come in another order or include others: read them all."""
    for name, value in _ATTRIBUTE.findall(rest):
        if name == "r":
            match = re.match(r"([A-Z]{1,3})\d+$", value)
            if match is None:
                raise Unreadable(f"the cell reference {value[:20]!r} is not valid")
            col = match.group(1)
        elif name == "s":
            style = value if value.isdigit() else ""
        elif name == "t":
            kind = value
    return col, style, kind


def _cast(value: str) -> int | float:
    """A number cell's value as openpyxl casts it."""
    if "." in value or "E" in value or "e" in value:
        return float(value)
    return int(value)


def _number(value: str) -> str:
    try:
        return cell_text(_cast(value))
    except ValueError:
        return _unescape(value).strip()


def open_first_sheet(f) -> Sheet:
    """The first worksheet of the workbook in the binary file `f`. Raises Unreadable."""
    try:
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Unreadable(str(exc) or type(exc).__name__) from exc
    try:
        workbook = Workbook(archive)
    except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError) as exc:
        raise Unreadable(str(exc) or type(exc).__name__) from exc
    if not workbook.sheets:
        raise Unreadable("the workbook has no worksheet")
    return Sheet(workbook, workbook.sheets[0])
