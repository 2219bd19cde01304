"""A workbook is a zip: one that would unpack past the limits (a decompression bomb) is
refused before anything reads it, with a 413 that says why, and nothing is imported."""

import pytest

from campaigns.models import ImportReport, Recipient

from .import_helpers import HEADER, upload, xlsx_bytes
from .test_import_files import rewrite_zip

pytestmark = pytest.mark.django_db

ROWS = [HEADER.split(","), ["+1", "4155550100", "Ana", "PK-1", "tomorrow", "9-12"]]


def padded(xml: bytes, size: int) -> bytes:
    """The part with `size` bytes of whitespace inside it: valid XML, and it packs ~1000:1."""
    return xml.replace(b"</worksheet>", b" " * size + b"</worksheet>")


def assert_refused(response, words: str):
    assert response.status_code == 413, response.json()
    assert response.json()["code"] == "file_too_large"
    assert words in response.json()["detail"]
    assert not Recipient.objects.exists()


def test_a_part_that_unpacks_a_thousand_times_its_size_is_refused(owner_api, campaign_a):
    bomb = rewrite_zip(
        xlsx_bytes(ROWS), "xl/worksheets/sheet1.xml", lambda xml: padded(xml, 8 * 1024 * 1024)
    )
    assert len(bomb) < 100_000  # eight megabytes of sheet in a few kilobytes

    assert_refused(upload(owner_api, campaign_a, bomb, name="list.xlsx"), "decompression bomb")
    assert_refused(
        upload(owner_api, campaign_a, bomb, name="list.xlsx", dry_run="true"), "decompression bomb"
    )


def test_a_workbook_over_the_unpacked_limit_is_refused(owner_api, campaign_a, settings):
    settings.IMPORT_XLSX_LIMITS = {**settings.IMPORT_XLSX_LIMITS, "unpacked_bytes": 4096}

    response = upload(owner_api, campaign_a, xlsx_bytes(ROWS), name="list.xlsx")

    assert_refused(response, "unpacks to")
    assert ImportReport.objects.filter(campaign=campaign_a, status="failed").exists()


def test_a_text_table_over_its_limit_is_refused(owner_api, campaign_a, settings):
    settings.IMPORT_XLSX_LIMITS = {**settings.IMPORT_XLSX_LIMITS, "shared_strings_bytes": 10}
    # openpyxl writes inline strings; Excel writes a shared-strings part, as here.
    with_table = add_member(
        xlsx_bytes(ROWS), "xl/sharedStrings.xml", b"<sst>" + b"<si><t>Ana</t></si>" * 5 + b"</sst>"
    )

    assert_refused(upload(owner_api, campaign_a, with_table, name="list.xlsx"), "text table")


def test_an_ordinary_workbook_still_imports(owner_api, campaign_a):
    response = upload(owner_api, campaign_a, xlsx_bytes(ROWS), name="list.xlsx")
    assert response.status_code == 201, response.json()
    assert response.json()["imported"] == 1


def add_member(content: bytes, name: str, data: bytes) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            if item.filename != name:
                dst.writestr(item, src.read(item.filename))
        dst.writestr(name, data)
    return out.getvalue()


# --- CSV in two encodings at once ------------------------------------------------------------


def test_a_utf8_file_with_one_row_in_another_encoding_is_refused_naming_the_line(
    owner_api, campaign_a
):
    head = (HEADER + "\n+1,4155550100,José,PK-1,mañana,9-12\n").encode("utf-8")
    pasted = "+1,4155550101,Zoë,PK-2,today,9-12\n".encode("cp1252")

    response = upload(owner_api, campaign_a, head + pasted, name="mixed.csv")

    assert response.status_code == 400, response.json()
    assert "Line 3 is not UTF-8" in response.json()["file"][0]
    assert not Recipient.objects.exists()


def test_a_file_all_in_windows_1252_still_imports_as_it_reads(owner_api, campaign_a):
    body = (HEADER + "\n+1,4155550100,José,PK-1,MÜLLER’S,9-12\n").encode("cp1252")

    response = upload(owner_api, campaign_a, body, name="windows.csv")

    assert response.status_code == 201, response.json()
    assert Recipient.objects.get().values["body_param_1"] == "José"
