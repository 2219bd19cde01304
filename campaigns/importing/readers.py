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
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal

from config.errors import Invalid

csv.field_size_limit(1024 * 1024)

SNIFF_BYTES = 64 * 1024
_HEADER_SEP = re.compile(r"[\s\-]+")
# A cell or a column name quoted inside a message is cut to this many characters.
SHOWN_CHARS = 50


class FileRejected(Invalid):
    """The whole file is refused; nothing is imported. The message names the problem (an API
    400 on the upload's `file` field)."""

    code = "file_rejected"
    field: str | None = "file"


def shown(text, limit: int = SHOWN_CHARS) -> str:
    """`text` as quoted in a message: at most `limit` characters, then "…"."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


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
        header_cells: int | None = None,
    ):
        self.columns = columns
        self._rows = rows
        self.kind = kind
        # A guess for sizing buffers up front (never trusted for anything else); None: unknown.
        self.estimated_rows = estimated_rows
        # How many cells the header row had, blank ones included, when a row with more cells
        # than that is malformed (a CSV's unquoted comma); None: extra cells are only ignored.
        self.header_cells = header_cells
        # Found while reading (data under a column without a name); shown in the report.
        self.warnings: list[str] = []
        self._unnamed_warned = False

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        columns = self.columns
        for line, cells in self.lists():
            yield line, dict(zip(columns, cells, strict=False))

    def lists(self) -> Iterator[tuple[int, list[str]]]:
        """The rows as lists as long as the header, cell i under column i. A million dicts cost
        more than the rest of reading a CSV, so the importer indexes lists instead.

        Only a row with more cells than the header allows (see `header_cells`) is yielded
        longer, for the checker to reject. Data under a column without a name (a blank header
        cell, or past the header where that is allowed) is ignored, with one warning."""
        width = len(self.columns)
        # Columns inside the header whose name is blank: watched until the first data in one.
        blank = [i for i, name in enumerate(self.columns) if not name]
        for line, cells in self._rows:
            if not any(cells):
                continue  # blank lines (often trailing ones) are not rows
            if len(cells) != width:
                if len(cells) < width:
                    cells = [*cells, *[""] * (width - len(cells))]
                else:
                    cells = self._wide(line, cells, width)
            if blank and any(cells[i] for i in blank):
                self._warn_unnamed(line, next(i for i in blank if cells[i]))
                blank = []
            yield line, cells

    def _wide(self, line: int, cells: list[str], width: int) -> list[str]:
        """A row with cells past the header: trailing empty cells dropped, data under columns
        without a name ignored (one warning); a row with more cells than the header allows is
        returned whole (the checker rejects it)."""
        end = len(cells)
        while end > width and not cells[end - 1]:
            end -= 1
        if end == width:
            return cells[:width]
        if self.header_cells is not None and end > self.header_cells:
            return cells[:end]
        self._warn_unnamed(line, next(i for i in range(width, end) if cells[i]))
        return cells[:width]

    def _warn_unnamed(self, line: int, index: int) -> None:
        if self._unnamed_warned:
            return
        self._unnamed_warned = True
        self.warnings.append(
            f"Column {index + 1} has no name in the header but holds data (first on line "
            f"{line}); it was ignored."
        )


def _check_header(raw: list) -> list[str]:
    columns = [normalise_header(c) for c in raw]
    while columns and not columns[-1]:
        columns.pop()
    if not any(columns):
        raise FileRejected("The file has no header row: the first line must name the columns.")
    seen = set()
    for name in columns:
        if name and name in seen:
            raise FileRejected(f"The column {shown(name)!r} appears twice in the header.")
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
        utf16 = _utf16_without_bom(sample)
        if utf16 is None:
            raise FileRejected("This is not a CSV file (it contains binary data).")
        return utf16
    # Valid UTF-8 all the way through, or else Windows' cp1252 (Excel's "CSV" on Windows).
    f.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    read = 0
    utf8_seen = False
    try:
        while chunk := f.read(1024 * 1024):
            decoder.decode(chunk)
            utf8_seen = utf8_seen or _UTF8_MULTIBYTE.search(chunk) is not None
            read += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        # Only the text before the first bad byte counts: a cp1252 file's first accented
        # letter is almost always invalid UTF-8 already.
        if utf8_seen or _UTF8_MULTIBYTE.search(chunk, 0, max(exc.start, 0)):
            # Both: UTF-8 text (é as two bytes) and bytes UTF-8 cannot be. Reading it all as
            # cp1252 would turn every "José" into "JosÃ©" without a word: refuse, and say where.
            f.seek(0)
            line = f.read(read + exc.start).count(b"\n") + 1
            raise FileRejected(
                f"Line {line} is not UTF-8 text while the rest of the file is (it was perhaps "
                "pasted from a file saved in another encoding). Save the whole file as "
                "UTF-8 (in Excel: CSV UTF-8) and upload it again."
            ) from exc
        return "cp1252"
    return "utf-8"


# A character of two or more bytes in UTF-8 (é is C3 A9): text written as UTF-8.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _utf16_without_bom(sample: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" for text saved as UTF-16 without a byte-order mark: a zero
    byte at every odd (LE) or every even (BE) position of the ASCII characters, and no
    control character but tab and line breaks; None for anything else (binary data)."""
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    for high, low, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        # Zero high bytes for the ASCII characters (the header, the phone numbers; names may
        # be in another script), hardly any zero low byte. Binary data that passes this fails
        # the test for control characters below.
        zeros = high.count(0)
        if zeros < len(high) // 8 or low.count(0) * 8 > zeros:
            continue
        # The sample may end inside a surrogate pair: decode it as the start of a stream.
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(sample)
        except UnicodeDecodeError:
            continue
        if not any(ch < " " and ch not in "\t\r\n" for ch in text):
            return encoding
    return None


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
    header_cells = len(header)

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
    return RowSource(
        columns, rows(), "csv", estimated_rows=estimate, header_cells=max(header_cells, 1)
    )


# --- cells ----------------------------------------------------------------------------------


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
        from .xlsx import read_xlsx  # xlsx builds on this module

        return read_xlsx(f)
    if name.endswith((".xlsx", ".xlsm")):
        raise FileRejected("This is not a valid XLSX file.")
    if name.endswith(".xls") or magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected("Old Excel .xls files are not supported: save as .xlsx or .csv.")
    return read_csv(f)
