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

import codecs
import html
import posixpath
import re
import zipfile
from array import array
from collections.abc import Iterator
from xml.etree import ElementTree

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import (
    CALENDAR_MAC_1904,
    CALENDAR_WINDOWS_1900,
    from_excel,
    from_ISO8601,
)

# Each piece of the sheet is matched at once (its cells as tuples, ~40 bytes of XML a cell): small
# pieces keep that transient memory small; 64 KB costs no speed.
READ_BYTES = 64 * 1024
# A row's XML larger than this is refused (a spreadsheet row is a few hundred bytes; 16,384
# full columns of long text stay far below it).
MAX_ROW_CHARS = 32 * 1024 * 1024
MAX_COLUMNS = 16_384  # Excel's own limit, XFD
# Parts read whole with ElementTree (the workbook, its relations, the styles): small in any
# real file; the archive's unpacked limits bound them too.
MAX_PART_BYTES = 64 * 1024 * 1024

_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


class Unreadable(Exception):
    """The workbook is damaged; the message says where (readers turns it into FileRejected)."""


# --- the workbook's parts --------------------------------------------------------------------


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise Unreadable(f"there is no part {name}") from None
    if info.file_size > MAX_PART_BYTES:
        raise Unreadable(f"the part {name} is too large")
    try:
        return ElementTree.fromstring(archive.read(info))
    except ElementTree.ParseError as exc:
        raise Unreadable(f"{name}: {exc}") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _relations(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id → (type's last segment, the target's path in the zip)."""
    folder, name = posixpath.split(part)
    rels = f"{folder}/_rels/{name}.rels" if part else "_rels/.rels"
    if rels not in archive.NameToInfo:
        return {}
    found = {}
    for rel in _xml(archive, rels).iter(_PKG_REL):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found[rel.get("Id", "")] = (
            rel.get("Type", "").rsplit("/", 1)[-1],
            posixpath.normpath(path),
        )
    return found


def _workbook_part(archive: zipfile.ZipFile) -> str:
    for rel in _relations(archive, "").values():
        if rel[0] == "officeDocument":
            return rel[1]
    if "xl/workbook.xml" in archive.NameToInfo:
        return "xl/workbook.xml"
    raise Unreadable("there is no workbook part")


class Workbook:
    """What reading the first sheet needs: where it is, the shared strings, which cell styles
    are dates, and the date system."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        part = _workbook_part(archive)
        workbook = _xml(archive, part)
        relations = _relations(archive, part)
        self.epoch = CALENDAR_WINDOWS_1900
        sheets = []
        for element in workbook.iter():
            tag = _local(element.tag)
            if tag == "workbookPr" and element.get("date1904", "").lower() in ("1", "true"):
                self.epoch = CALENDAR_MAC_1904
            elif tag == "sheet":
                kind, path = relations.get(element.get(_REL, ""), ("", ""))
                if kind == "worksheet":  # not a chart sheet
                    sheets.append(path)
        self.sheets = sheets
        kinds = {kind: path for kind, path in relations.values()}
        self.strings = SharedStrings(archive, kinds.get("sharedStrings"))
        self.date_styles, self.timedelta_styles = _date_styles(archive, kinds.get("styles"))


def _date_styles(archive: zipfile.ZipFile, part: str | None) -> tuple[frozenset, frozenset]:
    """The indexes of the cell formats (`s="…"`) that show a number as a date or a duration,
    as openpyxl decides it."""
    if part is None or part not in archive.NameToInfo:
        return frozenset(), frozenset()
    styles = _xml(archive, part)
    custom = {}
    dates, durations = set(), set()
    for element in styles:
        tag = _local(element.tag)
        if tag == "numFmts":
            for fmt in element:
                custom[_int(fmt.get("numFmtId"))] = fmt.get("formatCode", "")
        elif tag == "cellXfs":
            for index, xf in enumerate(element):
                number_format = _int(xf.get("numFmtId"))
                code = custom.get(number_format) or BUILTIN_FORMATS.get(number_format, "General")
                if is_date_format(code):
                    dates.add(index)
                if is_timedelta_format(code):
                    durations.add(index)
    return frozenset(dates), frozenset(durations)


def _int(text) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return -1


# --- text ------------------------------------------------------------------------------------

# A run's text inside a string item or an inline string; phonetic runs (<rPh>, Japanese
# readings) are not the cell's text and are removed first.
_PHONETIC = re.compile(r"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)
_TEXT = re.compile(r"<(?:\w+:)?t(?:\s[^>]*)?>(.*?)</(?:\w+:)?t>|<(?:\w+:)?t(?:\s[^>]*)?/>", re.S)


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _rich_text(xml: str) -> str:
    """The text of a string item / inline string holding runs or phonetic readings."""
    if "rPh" in xml:
        xml = _PHONETIC.sub("", xml)
    return _unescape("".join(_TEXT.findall(xml)))


class SharedStrings:
    """The workbook's shared strings, stripped, as one UTF-8 buffer and an offset per string:
    ~1 byte a character instead of ~60 bytes of Python object per string."""

    def __init__(self, archive: zipfile.ZipFile, part: str | None):
        offsets = self._offsets = array("I", [0])  # the table is at most 200 MB (settings)
        # One growing buffer: a list of a million bytes objects would cost what this avoids.
        data = bytearray()
        if part is not None and part in archive.NameToInfo:
            for text in _string_items(archive, part):
                data += text.replace("x005F_", "").strip().encode()
                offsets.append(len(data))
        self._data = bytes(data) if len(data) < 1 << 20 else data

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        offsets = self._offsets
        return self._data[offsets[index] : offsets[index + 1]].decode()


def _string_items(archive: zipfile.ZipFile, part: str) -> Iterator[str]:
    pieces = _chunks(archive, part)
    first = next(pieces, "")
    p = _prefix(first, "sst")
    item = re.compile(
        rf"<{p}si>(?:<{p}t(?:\s[^>]*)?>([^<]*)</{p}t>(?=</{p}si>)|(.*?))</{p}si>|<{p}si\s*/>",
        re.S,
    )
    for text in _whole(first, pieces, re.compile(rf"<{p}si[\s>/]")):
        for simple, rich in item.findall(text):
            yield _unescape(simple) if not rich else _rich_text(rich)


def _prefix(xml: str, root: str) -> str:
    """The namespace prefix the part's elements carry ("" or e.g. "x:")."""
    match = re.search(rf"<(\w+:)?{root}[\s>]", xml)
    if match is None:
        raise Unreadable(f"the part has no <{root}> element")
    return match.group(1) or ""


def _chunks(archive: zipfile.ZipFile, part: str) -> Iterator[str]:
    """A part's text, READ_BYTES of it at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with archive.open(part) as f:
            while data := f.read(READ_BYTES):
                yield decoder.decode(data)
            yield decoder.decode(b"", final=True)
    except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError) as exc:
        raise Unreadable(str(exc) or type(exc).__name__) from exc


def _whole(first: str, pieces: Iterator[str], start: re.Pattern) -> Iterator[str]:
    """The text `first` and then `pieces`, cut before the start of an element (`start`: a row,
    a string item), so that every text yielded holds whole ones."""
    text = first
    for piece in pieces:
        text += piece
        cut = _last_match(start, text)
        if cut > 0:
            yield text[:cut]
            text = text[cut:]
        elif len(text) > MAX_ROW_CHARS:
            raise Unreadable("an element of the part is too large")
    yield text


def _last_match(pattern: re.Pattern, text: str) -> int:
    """Where the last match of `pattern` starts in `text` (searched from the end), or -1."""
    position = len(text)
    while True:
        found = text.rfind("<", 0, position)
        if found < 0:
            return -1
        if pattern.match(text, found):
            return found
        position = found


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
        slow = self._cell_value
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
            if other:
                col, style, kind, inner = _generic(other)
                value = slow(kind, style, inner, p)
            elif kind == "s":
                try:
                    value = strings[int(v)]
                except (ValueError, IndexError):
                    raise Unreadable(f"a cell refers to a missing shared string {v!r}") from None
            elif kind == "inlineStr":
                value = (_unescape(v) if "&" in v else v).strip()
            elif (not kind or kind == "n") and not (style and int(style) in dates):
                value = v if v.isdigit() and v[0] != "0" else _number(v) if v else ""
            else:
                value = slow(kind, style, f"<{p}v>{v}</{p}v>", p)
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
        """The text of one cell, from its type (`t`), style (`s`) and content."""
        if not inner:
            return ""
        if kind == "inlineStr":
            return _rich_text(inner).strip()
        v_open = f"<{p}v>"
        if inner.startswith(v_open) and inner.endswith(f"</{p}v>") and inner.count("<") == 2:
            value = inner[len(v_open) : -len(v_open) - 1]
        else:  # a formula and its cached value, or something unusual
            match = re.search(rf"<{p}v>(.*?)</{p}v>", inner, re.S)
            if match is None:
                return ""  # a formula never calculated: no value, as openpyxl reads it
            value = match.group(1)
        if not value:
            return ""
        if kind == "s":
            try:
                return self.workbook.strings[int(value)]
            except (ValueError, IndexError):
                raise Unreadable(
                    f"a cell refers to shared string {value!r}, which does not exist"
                ) from None
        if kind in ("", "n"):
            if style and int(style) in self.workbook.date_styles:
                return self._date(value, int(style))
            if value.isdigit():
                return value if value[0] != "0" else str(int(value))
            return _number(value)
        if kind == "str" or kind == "e":
            return _unescape(value).strip()
        if kind == "b":
            return "TRUE" if value.strip() not in ("0", "false") else "FALSE"
        if kind == "d":
            from .readers import cell_text

            try:
                return cell_text(from_ISO8601(value))
            except ValueError:
                return value
        return _unescape(value).strip()

    def _date(self, value: str, style: int) -> str:
        from .readers import cell_text

        try:
            number = _cast(value)
            moment = from_excel(
                number, self.workbook.epoch, timedelta=style in self.workbook.timedelta_styles
            )
        except (OverflowError, ValueError):
            return "#VALUE!"
        return cell_text(moment)


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
    from .readers import cell_text

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
