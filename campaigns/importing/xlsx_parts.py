"""The parts of an XLSX workbook that reading its first sheet needs: where the sheet is, the
shared strings (one UTF-8 buffer with an offset per string, not a million objects), which cell
styles are dates, the date system; and the part reader that hands the sheet's XML over in
pieces holding whole elements. See xlsx.py for the sheet itself."""

import codecs
import html
import posixpath
import re
import zipfile
from array import array
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from xml.etree import ElementTree

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
        self.epoch = WINDOWS_EPOCH
        sheets = []
        for element in workbook.iter():
            tag = _local(element.tag)
            if tag == "workbookPr" and element.get("date1904", "").lower() in ("1", "true"):
                self.epoch = MAC_EPOCH
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
                code = custom.get(number_format) or BUILTIN_DATE_FORMATS.get(number_format, "")
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


# --- dates -----------------------------------------------------------------------------------
#
# As openpyxl decides and converts them (openpyxl.styles.numbers, openpyxl.utils.datetime; the
# tests compare the two). Not imported from it: openpyxl costs a process ~13 MB, and reading a
# workbook needs nothing else of it.

# Spreadsheet times are naive (no zone): what the user typed.
WINDOWS_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001
MAC_EPOCH = datetime(1904, 1, 1)  # noqa: DTZ001
# Excel's built-in number formats that show a date, a time or a duration (ECMA-376 §18.8.30);
# every other built-in one shows a number or text.
BUILTIN_DATE_FORMATS = {
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
}
_LITERALS = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')  # quoted text, [$€-x] groups
_DATE_LETTER = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_ELAPSED = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)


def is_date_format(code: str) -> bool:
    """A number format that shows a date or a time (its first section has d, m, y, h or s
    outside quoted text and bracketed groups)."""
    return _DATE_LETTER.search(_LITERALS.sub("", code.split(";")[0])) is not None


def is_timedelta_format(code: str) -> bool:
    """A number format that shows elapsed time ([h]:mm:ss)."""
    return _ELAPSED.search(code.split(";")[0]) is not None


def from_excel(value: float, epoch: datetime, duration: bool = False):
    """An Excel serial number as a datetime (a time when under one day; a timedelta for an
    elapsed-time format), to the millisecond."""
    if duration:
        elapsed = timedelta(days=value)
        if elapsed.microseconds:
            elapsed = timedelta(
                seconds=elapsed.total_seconds() // 1, microseconds=round(elapsed.microseconds, -3)
            )
        return elapsed
    day, fraction = divmod(value, 1)
    clock = timedelta(milliseconds=round(fraction * 86_400_000))
    if 0 <= value < 1 and clock.days == 0:
        minutes, seconds = divmod(clock.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return time(hours, minutes, seconds, clock.microseconds)
    if 0 < value < 60 and epoch == WINDOWS_EPOCH:
        day += 1  # Excel's 29 February 1900, which never was
    return epoch + timedelta(days=day) + clock


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
