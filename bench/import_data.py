"""The import benchmark's files: a seeded generator of recipient rows (valid numbers of ten
markets in the formats spreadsheets hold them in, rejected rows, duplicates, numbers to opt
out) and what the import must report for them, written as CSV or XLSX."""

import random
from pathlib import Path

BAD_PHONE_SHARE = 0.008
BAD_PARAM_SHARE = 0.002
DUPLICATE_SHARE = 0.005
OPTED_OUT = 1_000
# Rough weight of each market in a WhatsApp campaign list (as in bench_phones).
MARKETS = dict(IN=20, BR=15, ID=12, MX=10, US=10, NG=8, DE=7, GB=7, ES=6, ZA=5)
# How a valid number is written, and how often (see _written).
FORMATS = dict(national=45, plus=40, spaced=4, dashed=3, float=2, scientific=2, idd=2, trunk=2)
NAMES = ["Ana", "José", "Zoë", "Priya", "Ngozi", "Łukasz", "Müller", "Siti", "Thandi", "Li"]
WHEN = ["tomorrow between 9-12", "today 14:00-16:00", "on Monday", "el lunes por la mañana"]
HEADER = ["country_code", "phone_number", "body_param_1", "body_param_2", "body_param_3"]


class _Numbers:
    """Unique valid numbers, drawn by redrawing the subscriber digits of each market's example
    numbers and kept only when valid (the importer's fast path accepts only numbers
    phonenumbers accepts; a sample is re-checked against phonenumbers itself)."""

    def __init__(self, rng: random.Random):
        import phonenumbers

        from campaigns.importing.phones import _fast

        self.fast = _fast
        self.random = rng.random
        # Weighted draws as one index into an expanded table: random.choices costs more than
        # the rest of a row.
        self.regions = [r for r, weight in MARKETS.items() for _ in range(weight)]
        self.cc = {r: str(phonenumbers.country_code_for_region(r)) for r in MARKETS}
        self.ndd = {r: phonenumbers.ndd_prefix_for_region(r, True) or "" for r in MARKETS}
        types = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
        self.stems = {  # (kept leading digits, how many digits to redraw)
            r: [
                (nsn[:keep], len(nsn) - keep)
                for t in types
                if (n := phonenumbers.example_number_for_type(r, t))
                for nsn in [phonenumbers.national_significant_number(n)]
                for keep in (3, 4)
            ]
            for r in MARKETS
        }
        self.seen: set[str] = set()

    def draw(self) -> tuple[str, str, str]:
        random, seen = self.random, self.seen
        region = self.regions[int(random() * len(self.regions))]
        cc, stems = self.cc[region], self.stems[region]
        while True:
            stem, rest = stems[int(random() * len(stems))]
            national = f"{stem}{int(random() * 10**rest):0{rest}d}"
            if national not in seen and self.fast(cc, national):
                seen.add(national)  # nationals of different markets may repeat: harmless
                return region, cc, national


# The two cells of a valid number, by format (trunk: see _written).
_WRITTEN = {
    "national": lambda cc, n: (cc, n),
    "plus": lambda cc, n: ("", f"+{cc}{n}"),
    "spaced": lambda cc, n: (f"+{cc}", f"{n[:3]} {n[3:6]} {n[6:]}"),
    "dashed": lambda cc, n: (cc, f"({n[:3]}) {n[3:6]}-{n[6:]}"),
    "float": lambda cc, n: (f"{cc}.0", f"{n}.0"),
    "scientific": lambda cc, n: (cc, f"{n[0]}.{n[1:]}E+{len(n) - 1:02d}"),
    "idd": lambda cc, n: ("", f"00{cc}{n}"),
}
# Cells that are no phone number, for a number (the shorter one is checked: it may be valid).
_BAD_PHONES = (
    lambda cc, n: (cc, n[:-3]),  # a typo: too short
    lambda cc, n: ("", n),  # the country_code column left empty
    lambda cc, n: (cc, f"{n[0]}.{n[1:5]}E+{len(n) - 1:02d}"),  # Excel lost digits
    lambda cc, n: (cc, "1-800-FLOWERS"),
    lambda cc, n: (cc, "n/a"),
    lambda cc, n: (cc, "ask reception"),
)
# Parameter values Meta refuses, as (index, value).
_BAD_PARAMS = ((1, ""), (2, "tomorrow\nmorning"), (0, "Ana     Maria"), (1, "x" * 1025))


def _written(fmt: str, numbers: _Numbers, region: str, cc: str, national: str):
    if fmt == "trunk":  # the national trunk prefix, when phonenumbers strips it back off
        from campaigns.importing.phones import normalize

        cells = cc, numbers.ndd[region] + national
        if numbers.ndd[region] and normalize(*cells)[0] == f"+{cc}{national}":
            return cells
        fmt = "national"
    return _WRITTEN[fmt](cc, national)


def _bad_phone(rng: random.Random, cc: str, national: str) -> tuple[str, str]:
    from campaigns.importing.phones import normalize

    cells = rng.choice(_BAD_PHONES)(cc, national)
    return cells if normalize(*cells)[0] is None else (cc, "n/a")


def _bad_params(rng: random.Random, params: list[str]) -> list[str]:
    index, value = rng.choice(_BAD_PARAMS)
    params[index] = value
    return params


def generate(n: int, seed: int):
    """First a dict, then `n` rows (lists of cells). Once the rows are consumed the dict holds
    the report the import must produce ("expected") and the numbers to opt out."""
    rng = random.Random(seed)
    numbers = _Numbers(rng)
    bad_phone, bad_param = round(n * BAD_PHONE_SHARE), round(n * BAD_PARAM_SHARE)
    dups = round(n * DUPLICATE_SHARE)
    kinds = ["v"] * (n - bad_phone - bad_param - dups) + ["p"] * bad_phone
    kinds += ["q"] * bad_param + ["d"] * dups
    rng.shuffle(kinds)
    first_valid = kinds.index("v")
    kinds[0], kinds[first_valid] = kinds[first_valid], kinds[0]  # a duplicate needs an original
    formats = [f for f, weight in FORMATS.items() for _ in range(weight)]
    draw = rng.random
    emitted: list[tuple[str, str, str]] = []
    expected = {
        "rows_read": n,
        "rejected": bad_phone + bad_param,
        "skipped_duplicate": dups,
        "skipped_opted_out": OPTED_OUT,
    }
    meta = {"expected": expected, "opted_out": []}
    yield meta
    for i, kind in enumerate(kinds):
        params = [NAMES[int(draw() * len(NAMES))], f"PK-{i:07d}", WHEN[int(draw() * len(WHEN))]]
        if kind == "d":
            region, cc, national = rng.choice(emitted)
            fmt = rng.choice(("national", "plus", "spaced"))
            yield [*_written(fmt, numbers, region, cc, national), *params]
            continue
        region, cc, national = numbers.draw()
        if kind == "p":
            yield [*_bad_phone(rng, cc, national), *params]
        elif kind == "q":
            yield [cc, national, *_bad_params(rng, params)]
        else:
            emitted.append((region, cc, national))
            fmt = formats[int(draw() * len(formats))]
            yield [*_written(fmt, numbers, region, cc, national), *params]
    expected["imported"] = len(emitted) - OPTED_OUT
    meta["opted_out"] = [f"+{cc}{nat}" for _, cc, nat in rng.sample(emitted, OPTED_OUT)]
    _check_sample(rng, emitted)


def _check_sample(rng: random.Random, emitted) -> None:
    """The generator trusts the fast path for validity; phonenumbers confirms a sample."""
    import phonenumbers

    for _, cc, national in rng.sample(emitted, min(2_000, len(emitted))):
        number = phonenumbers.parse(f"+{cc}{national}")
        assert phonenumbers.is_valid_number(number), (cc, national)


def write_csv(path: Path, n: int, seed: int) -> dict:
    import csv

    rows = generate(n, seed)
    meta = next(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return meta


def write_xlsx(path: Path, n: int, seed: int) -> dict:
    from openpyxl import Workbook

    rows = generate(n, seed)
    meta = next(rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Recipients")
    sheet.append(HEADER)
    for row in rows:
        # Excel holds typed digits as numbers; anything else stays the text it was.
        sheet.append([int(c) if c.isdigit() and c[0] != "0" else c for c in row])
    workbook.save(path)
    return meta


# An XLSX as Excel writes it: text in the shared-strings table (each distinct text once), numbers
# as numbers, one row of XML per row (openpyxl's writer puts text inline instead, which no
# spreadsheet application does). Written directly: openpyxl takes ~50 s for a million rows.
_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Recipients" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
        "</cellXfs></styleSheet>"
    ),
}


def write_xlsx_as_excel(path: Path, n: int, seed: int) -> dict:
    import zipfile
    from xml.sax.saxutils import escape

    rows = generate(n, seed)
    meta = next(rows)
    strings: dict[str, int] = {}

    def cell(ref: str, value: str) -> str:
        if value.isdigit() and value[0] != "0":
            return f'<c r="{ref}"><v>{value}</v></c>'
        if not value:
            return ""
        index = strings.setdefault(value, len(strings))
        return f'<c r="{ref}" t="s"><v>{index}</v></c>'

    letters = "ABCDE"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
                b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref='
                + f'"A1:E{n + 1}"/><sheetData>'.encode()
            )
            for number, row in enumerate([HEADER, *rows], start=1):
                cells = "".join(cell(f"{c}{number}", v) for c, v in zip(letters, row, strict=True))
                sheet.write(f'<row r="{number}" spans="1:5">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w") as table:
            table.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://'
                + b'schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            for text in strings:
                space = ' xml:space="preserve"' if text != text.strip() else ""
                table.write(f"<si><t{space}>{escape(text)}</t></si>".encode())
            table.write(b"</sst>")
    return meta
