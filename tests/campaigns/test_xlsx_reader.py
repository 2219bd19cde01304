"""The streaming XLSX reader (campaigns/importing/xlsx.py) reads every cell as openpyxl did.

Each workbook here is read by both: the new reader through `open_upload`, and openpyxl's
read-only mode with `cell_text` (the reader the importer used before). Workbooks written by
openpyxl (shared strings, write-only inline strings) and by hand in the shapes other writers
use (Excel's shared strings and styles, a namespace prefix, rich text, formulas' cached values,
cells without references, the 1904 date system).
"""

import io
import zipfile
from datetime import date, datetime, time

import pytest
from openpyxl import Workbook, load_workbook

from campaigns.importing.readers import FileRejected, cell_text, open_upload

pytestmark = pytest.mark.django_db(databases=[])


def ours(content: bytes) -> list[list[str]]:
    source = open_upload(io.BytesIO(content), "list.xlsx")
    return [source.columns, *[cells for _, cells in source.lists()]]


def openpyxl_rows(content: bytes) -> list[list[str]]:
    """What the importer read before: openpyxl read-only, data_only, through cell_text; rows
    as long as the header, blank rows dropped (as RowSource does)."""
    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    rows = [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    header = rows[0]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    body = [(r + [""] * width)[:width] for r in rows[1:] if any(r)]
    return [[h.lower() for h in header], *body]


def openpyxl_workbook(rows, write_only=False) -> bytes:
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("List") if write_only else workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# Spreadsheet cells hold naive times.
NAIVE = datetime(2026, 12, 3, 9, 30)  # noqa: DTZ001
AWKWARD = [
    ["country_code", "phone_number", "name", "when", "amount", "flag", "note"],
    [1, 4155550100, "Ana", NAIVE, 12.5, True, "  padded  "],
    ["+44", "07700 900123", "José & Zoë <VIP>", date(2026, 1, 5), 1e20, False, None],
    [None, None, None, None, None, None, None],  # a blank row
    ["91", 9812345678.0, "Łukasz", time(14, 0), -3, None, 'say "hi"'],
    ["", "", "", "", 0, "", "only a later column"],
    [49, "030 1234567", "Müller", None, 0.1 + 0.2, None, "日本語 🎉"],
]


@pytest.mark.parametrize("write_only", [False, True], ids=["shared strings", "inline strings"])
def test_openpyxl_written_workbooks_read_the_same(write_only):
    content = openpyxl_workbook(AWKWARD, write_only=write_only)
    assert ours(content) == openpyxl_rows(content)


def test_a_thousand_rows_with_sparse_cells_read_the_same():
    rows = [["country_code", "phone_number", "body_param_1", "body_param_2"]]
    for i in range(1_000):
        rows.append([None if i % 3 else "+1", f"41555{i:05d}", None if i % 7 == 0 else f"N{i}", i])
    content = openpyxl_workbook(rows)
    assert ours(content) == openpyxl_rows(content)


# --- hand-written parts, in other writers' shapes --------------------------------------------

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def workbook_of(sheet: str, strings: str | None = None, styles: str | None = None, pr="") -> bytes:
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
        ),
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="r1" '
        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{NS}" xmlns:r="{REL}">{pr}<sheets>'
        '<sheet name="Chart" sheetId="2" r:id="rC"/>'
        '<sheet name="List" sheetId="1" r:id="rS"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rC" Type="{REL}/chartsheet" Target="chartsheets/sheet1.xml"/>'
        f'<Relationship Id="rS" Type="{REL}/worksheet" Target="/xl/worksheets/data.xml"/>'
        f'<Relationship Id="rT" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rY" Type="{REL}/styles" Target="styles.xml"/></Relationships>',
        "xl/worksheets/data.xml": sheet,
    }
    if strings is not None:
        parts["xl/sharedStrings.xml"] = strings
    if styles is not None:
        parts["xl/styles.xml"] = styles
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


STYLES = (
    f'<styleSheet xmlns="{NS}"><numFmts count="1"><numFmt numFmtId="164" '
    'formatCode="dd/mm/yyyy\\ hh:mm"/></numFmts><cellXfs count="4"><xf numFmtId="0"/>'
    '<xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="49"/></cellXfs></styleSheet>'
)


def test_excel_shapes_shared_strings_styles_and_formulas():
    strings = (
        f'<sst xmlns="{NS}" count="6" uniqueCount="6"><si><t>phone_number</t></si>'
        "<si><t>country_code</t></si><si><t>body_param_1</t></si>"
        '<si><t xml:space="preserve"> Ana Maria </t></si>'
        '<si><r><rPr><b/></rPr><t>Bold</t></r><r><t xml:space="preserve"> and plain</t></r>'
        '<rPh sb="0" eb="1"><t>ふりがな</t></rPh></si>'
        "<si><t>Tom &amp; Jerry</t></si></sst>"
    )
    sheet = (
        f'<worksheet xmlns="{NS}"><dimension ref="A1:C2"/><sheetData>'
        '<row r="1" spans="1:3"><c r="A1" t="s"><v>1</v></c><c r="B1" t="s"><v>0</v></c>'
        '<c r="C1" t="s"><v>2</v></c></row>'
        '<row r="2"><c r="A2" s="3" t="n"><v>44</v></c><c r="B2"><v>7700900123</v></c>'
        '<c r="C2" t="s"><v>3</v></c></row>'
        '<row r="3"><c r="A3"><f>1+0</f><v>1</v></c><c r="B3" t="str"><f>"415"&amp;"5550100"</f>'
        '<v>4155550100</v></c><c r="C3" t="s"><v>4</v></c></row>'
        '<row r="5" customHeight="1" ht="20"><c r="A5" t="b"><v>1</v></c>'
        '<c r="B5" t="e"><v>#N/A</v></c><c r="C5" s="1"><v>46000</v></c></row>'
        '<row r="6"><c r="A6" s="2"><v>46000.5</v></c><c r="B6"><f>NOW()</f></c>'
        '<c r="C6" t="s"><v>5</v></c></row>'
        '<row r="7"><c t="s" r="C7" s="0"><v>5</v></c><c r="A7" t="inlineStr">'
        "<is><t>late &lt;first&gt;</t></is></c></row>"
        '</sheetData><mergeCells count="0"/></worksheet>'
    )
    assert ours(workbook_of(sheet, strings, STYLES)) == [
        ["country_code", "phone_number", "body_param_1"],
        ["44", "7700900123", "Ana Maria"],
        ["1", "4155550100", "Bold and plain"],
        ["TRUE", "#N/A", "2025-12-09 00:00:00"],
        ["2025-12-09 12:00:00", "", "Tom & Jerry"],
        ["late <first>", "", "Tom & Jerry"],
    ]


def test_a_namespace_prefix_cells_without_references_and_the_1904_system():
    sheet = (
        f'<x:worksheet xmlns:x="{NS}"><x:sheetData>'
        '<x:row><x:c t="inlineStr"><x:is><x:t>phone_number</x:t></x:is></x:c>'
        '<x:c t="inlineStr"><x:is><x:t>when</x:t></x:is></x:c></x:row>'
        '<x:row><x:c><x:v>14155550100</x:v></x:c><x:c s="1"><x:v>1</x:v></x:c></x:row>'
        "<x:row/>"
        '<x:row><x:c><x:v>14155550101</x:v></x:c><x:c s="1"><x:v>366</x:v></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    )
    styles = (
        f'<styleSheet xmlns="{NS}"><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
        "</styleSheet>"
    )
    content = workbook_of(sheet, styles=styles, pr='<workbookPr date1904="1"/>')
    source = open_upload(io.BytesIO(content), "list.xlsx")
    lines = list(source.lists())
    assert source.columns == ["phone_number", "when"]
    assert lines == [
        (2, ["14155550100", "1904-01-02 00:00:00"]),
        (4, ["14155550101", "1905-01-01 00:00:00"]),
    ]


@pytest.mark.parametrize(
    ("sheet", "problem"),
    [
        (f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
         "phone_number</t></is></c></row><row r=\"2\"><c r=\"A2\"><v>1", "truncated"),
        (f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="s"><v>9</v></c></row>'
         "</sheetData></worksheet>", "missing shared string"),
        (f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="ZZZZ1"><v>1</v></c></row>'
         "</sheetData></worksheet>", ""),
        ("<html>not a sheet</html>", "no <sheetData>"),
    ],
    ids=["truncated", "missing shared string", "bad column", "not a sheet"],
)  # fmt: skip
def test_damaged_sheets_are_refused(sheet, problem):
    content = workbook_of(sheet, strings=f'<sst xmlns="{NS}"/>')

    def read_all():  # a damaged row is found when it is read
        return list(open_upload(io.BytesIO(content), "x.xlsx").lists())

    with pytest.raises(FileRejected, match="not a readable XLSX file") as refused:
        read_all()
    if problem:
        assert problem in str(refused.value)


def test_damaged_rows_are_refused_while_reading_with_the_line():
    sheet = (
        f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
        'phone_number</t></is></c></row><row r="2"><c r="A2"><v>14155550100</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>4</v></c></row></sheetData></worksheet>'
    )
    source = open_upload(io.BytesIO(workbook_of(sheet, strings=f'<sst xmlns="{NS}"/>')), "x.xlsx")
    with pytest.raises(FileRejected, match="not a readable XLSX file.*shared string"):
        list(source.lists())


def test_number_formats_decide_dates_as_openpyxl_does():
    """Built-in and custom formats: dates, times, elapsed time, and look-alikes that are not
    dates (quoted text, currency groups)."""
    formats = [
        "General", "0.00", "mm-dd-yy", "h:mm AM/PM", "[h]:mm:ss", "mm:ss", "[$-409]mmmm d, yyyy",
        '0.00 "days"', "#,##0.00 [$€-1]", 'yyyy-mm-dd;@', '"Due "d/m', "0%", "d-mmm-yy",
        "[mm]:ss", "_(* #,##0_)", "m/d/yy h:mm",
    ]  # fmt: skip
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["phone_number", *[f"f{i}" for i in range(len(formats))]])
    for value in (0.25, 1.5, 45000.75, 60, 59.999):
        sheet.append(["+14155550100", *[value] * len(formats)])
        for column, code in enumerate(formats, start=2):
            sheet.cell(row=sheet.max_row, column=column).number_format = code
    out = io.BytesIO()
    workbook.save(out)
    content = out.getvalue()
    assert ours(content) == openpyxl_rows(content)
