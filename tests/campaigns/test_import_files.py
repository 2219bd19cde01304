"""Recipient import, whole files: errors that refuse a file, the size limits, XLSX (numeric
phones, stale dimensions, damaged files), JSON lists, UTF-16 without a byte-order mark, a file
of many thousands of rows."""

import io
import re
import zipfile

import pytest

from campaigns.models import ImportRejection, ImportReport, Recipient
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from .import_helpers import HEADER, ROW, csv_text, phones, upload, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            b"country_code,phone_number,body_param_1\n+1,4155550100,Ana\n",
            "r.csv",
            "Missing required columns: body_param_2, body_param_3, body_param_4",
        ),
        (b"", "r.csv", "empty"),
        (b"\n\n", "r.csv", "empty"),
        (HEADER.encode() + b"\n", "r.csv", "no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "photo.csv", "binary"),
        (b"not really a zip", "r.xlsx", "not a valid XLSX"),
    ],
)
def test_whole_file_errors_are_a_400_naming_the_problem(
    owner_api, campaign_a, content, name, message
):
    response = upload(owner_api, campaign_a, content, name=name)
    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert Recipient.objects.count() == 0
    campaign_a.refresh_from_db()
    assert campaign_a.total_recipients == 0


def test_a_file_over_the_size_limit_is_a_413(owner_api, campaign_a, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1024
    content = csv_text(*[ROW.format(cc="+1", phone=f"41555501{i:02d}") for i in range(60)])
    response = upload(owner_api, campaign_a, content.encode())
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert Recipient.objects.count() == 0


def test_xlsx_first_sheet_with_numeric_phones(owner_api, campaign_a):
    content = xlsx_bytes(
        [
            HEADER.split(","),
            [1, 4155550100, "Ana", "PK-1", "tomorrow", "9-12"],
            ["+1", "4155550101", "Bob", 42, "today", "1-2"],
            [None] * 6,
        ],
        extra_sheets=[("Columns", [["ignored"], ["+1", "4155550199"]])],
    )
    report = upload(owner_api, campaign_a, content, name="list.xlsx").json()
    assert report["imported"] == 2, report
    assert phones(campaign_a) == ["+14155550100", "+14155550101"]
    assert Recipient.objects.get(phone="+14155550101").values["body_param_2"] == "42"


def test_xlsx_renamed_to_csv_is_still_read(owner_api, campaign_a):
    content = xlsx_bytes([HEADER.split(","), ["+1", "4155550100", "A", "B", "C", "D"]])
    report = upload(owner_api, campaign_a, content, name="list.csv").json()
    assert report["imported"] == 1


def test_thousands_of_rejections_and_rows_in_one_file(owner_api, campaign_a):
    """More rows than one COPY statement and more rejections than one batch, interleaved:
    every valid row imported, every rejection stored for the download."""
    rows = []
    for i in range(24_000):
        phone = f"41555{i:05d}" if i % 4 else "12"  # every fourth row impossible
        rows.append(ROW.format(cc="+1", phone=phone))
    rows += [ROW.format(cc="+1", phone="4155500001")] * 3  # a duplicate, twice
    report = upload(owner_api, campaign_a, csv_text(*rows).encode()).json()
    assert report["rows_read"] == 24_003
    assert report["rejected"] == 6_000
    assert report["imported"] == 18_000
    assert report["skipped_duplicate"] == 3
    assert Recipient.objects.filter(campaign=campaign_a).count() == 18_000
    stored = ImportRejection.objects.filter(report_id=report["id"])
    assert stored.filter(kind="rejected").count() == 6_000
    assert stored.filter(kind="skipped").count() == 3
    assert stored_counts(campaign_id=campaign_a.pk) == counts_from_recipients(
        campaign_id=campaign_a.pk
    )


def test_json_list_in_the_seed_shape(owner_api, campaign_a):
    body = [
        {
            "country_code": "+1",
            "phone_number": "4155550100",
            "body_param_1": "Ana",
            "body_param_2": "PK",
            "body_param_3": "now",
            "body_param_4": 5,
        }
    ]
    response = owner_api.post(f"/api/v1/campaigns/{campaign_a.id}/recipients/", body, format="json")
    assert response.status_code == 201, response.json()
    assert Recipient.objects.get().values["body_param_4"] == "5"


def test_json_that_is_not_a_list_is_a_400(owner_api, campaign_a):
    response = owner_api.post(
        f"/api/v1/campaigns/{campaign_a.id}/recipients/", {"recipients": "nope"}, format="json"
    )
    assert response.status_code == 400


# --- XLSX: stale dimensions, damaged files ---------------------------------------------------


def rewrite_zip(content: bytes, name: str, change) -> bytes:
    """`content` (a zip) with the member `name` replaced by change(its bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, change(data) if item.filename == name else data)
    return out.getvalue()


def test_xlsx_with_a_stale_dimension_imports_every_row(owner_api, campaign_a):
    rows = [["+1", f"415555010{i}", "Ana", "PK-1", "tomorrow", "9-12"] for i in range(5)]
    content = xlsx_bytes([HEADER.split(","), *rows])
    content = rewrite_zip(
        content,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:F2"', xml),
    )
    assert b'ref="A1:F2"' in zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    response = upload(owner_api, campaign_a, content, name="list.xlsx")
    assert response.status_code == 201, response.json()
    assert response.json()["rows_read"] == 5
    assert phones(campaign_a) == [f"+1415555010{i}" for i in range(5)]


def _truncated_sheet(xml: bytes) -> bytes:
    return xml[: len(xml) * 2 // 3]


@pytest.mark.parametrize(
    ("member", "change"),
    [
        ("xl/worksheets/sheet1.xml", _truncated_sheet),
        ("xl/workbook.xml", lambda xml: b"<workbook><sheets><oops"),
        ("xl/worksheets/sheet1.xml", lambda xml: b"garbage, not xml"),
        ("xl/_rels/workbook.xml.rels", lambda xml: b"<Relationships/>"),
    ],
    ids=["truncated sheet", "garbage workbook", "garbage sheet", "no sheet relations"],
)
def test_a_damaged_xlsx_is_a_400_and_imports_nothing(owner_api, campaign_a, member, change):
    rows = [["+1", f"41555{i:05d}", "Ana", "PK-1", "tomorrow", "9-12"] for i in range(300)]
    content = rewrite_zip(xlsx_bytes([HEADER.split(","), *rows]), member, change)
    response = upload(owner_api, campaign_a, content, name="list.xlsx")
    assert response.status_code == 400, response.content[:300]
    assert "not a readable XLSX file" in response.json()["file"][0]
    assert Recipient.objects.count() == 0
    assert not ImportReport.objects.exclude(status="failed").exists()


# --- UTF-16 without a byte-order mark --------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read(owner_api, campaign_a, encoding):
    content = csv_text(
        "+1,4155550100,Zoë,PK-1,mañana 🎉,9-12", ROW.format(cc="+1", phone="4155550101"), sep="\t"
    ).encode(encoding)
    assert not content.startswith((b"\xff\xfe", b"\xfe\xff"))
    response = upload(owner_api, campaign_a, content)
    assert response.status_code == 201, response.json()
    assert phones(campaign_a) == ["+14155550100", "+14155550101"]
    assert Recipient.objects.get(phone="+14155550100").values["body_param_1"] == "Zoë"


def test_utf16_without_a_byte_order_mark_in_another_script_is_read(owner_api, campaign_a):
    rows = [f"+7,9161234{i:03d},Анастасия Петрова,ПК-{i},завтра утром,9-12" for i in range(50)]
    content = csv_text(*rows).encode("utf-16-le")
    report = upload(owner_api, campaign_a, content).json()
    assert report["imported"] == 50, report
    assert Recipient.objects.filter(values__body_param_1="Анастасия Петрова").count() == 50


def test_binary_data_with_zero_bytes_is_still_refused(owner_api, campaign_a):
    content = bytes(range(256)) * 40
    response = upload(owner_api, campaign_a, content)
    assert response.status_code == 400
    assert "binary" in response.json()["file"][0]


def test_a_json_body_over_the_request_limit_is_a_413_in_json(owner_api, campaign_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = [
        {"country_code": "+1", "phone_number": f"41555{i:05d}", "body_param_1": "Ana"}
        for i in range(200)
    ]
    response = owner_api.post(f"/api/v1/campaigns/{campaign_a.id}/recipients/", body, format="json")
    assert response.status_code == 413
    assert "CSV or XLSX" in response.json()["detail"]
    assert not Recipient.objects.filter(campaign=campaign_a).exists()
