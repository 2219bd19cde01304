"""An XLSX file written as it streams: the sheet's rows go out as they are read, in constant
memory, and the first bytes leave before the last row is read.

openpyxl's write-only mode also keeps memory flat, but assembles the ZIP only when the sheet
is finished: a million-row download would send nothing for the ~100 s it takes to write.
Here the standard library's `zipfile` writes the archive to a sink the response drains
after every chunk of rows (a ZIP written to a stream that cannot seek carries each entry's
sizes after its data, which every reader accepts). The sheet is the smallest SpreadsheetML
that Excel, LibreOffice, Numbers, openpyxl and calamine read: text as inline strings (never
formulas, so a cell that begins with "=" stays text), numbers as numbers, and aware
datetimes as dates in UTC.
"""

import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from xml.sax.saxutils import escape

ROWS_PER_CHUNK = 2000
# Excel's day 0 (its 1900 leap-year bug included, as every reader expects).
_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
# Characters XML 1.0 cannot carry at all; a stored value may hold them.
_ILLEGAL = {c: None for c in range(32) if c not in (9, 10, 13)}
MAX_CELL = 32767  # Excel's limit on a cell's characters

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""  # noqa: E501
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""  # noqa: E501
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""  # noqa: E501
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""  # noqa: E501
# Style 1: a date and time (yyyy-mm-dd hh:mm:ss), for datetime cells.
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""  # noqa: E501
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
    'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


class _Sink(io.RawIOBase):
    """Where the archive is written: bytes wait here until the response takes them."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(value: str) -> str:
    return escape(value[:MAX_CELL].translate(_ILLEGAL))


def _row_xml(number: int, values: Iterable, letters: list[str], style: str = "") -> str:
    cells = []
    for letter, value in zip(letters, values, strict=False):
        ref = f"{letter}{number}"
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int | float):
            cells.append(f'<c r="{ref}"{style}><v>{value}</v></c>')
        elif isinstance(value, datetime):
            days = (value - _EPOCH).total_seconds() / 86400
            cells.append(f'<c r="{ref}" s="1"><v>{days:.10f}</v></c>')
        else:
            cells.append(
                f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">'
                f"{_text(str(value))}</t></is></c>"
            )
    return f'<row r="{number}">{"".join(cells)}</row>'


def xlsx_stream(
    header: list[str], rows: Iterable[Iterable], *, sheet: str = "Sheet1"
) -> Iterator[bytes]:
    """The bytes of an XLSX file with `header` (bold, frozen) and `rows`, as they are made.
    Datetimes must be aware (they are written in UTC)."""
    letters = [column_letters(i) for i in range(len(header))]
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=_text(sheet)[:31]))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(_SHEET_START.encode())
            part.write(_row_xml(1, header, letters, ' s="2"').encode())
            number, chunk = 1, []
            for row in rows:
                number += 1
                chunk.append(_row_xml(number, row, letters))
                if len(chunk) >= ROWS_PER_CHUNK:
                    part.write("".join(chunk).encode())
                    chunk.clear()
                    yield sink.take()
            part.write(("".join(chunk) + _SHEET_END).encode())
    yield sink.take()
