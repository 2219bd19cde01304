"""Recipient import: awkward files, each with its expected outcome; atomicity; dry runs."""

import io
import json
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from campaigns.models import Campaign, ImportRejection, ImportReport, Recipient
from campaigns.services.counters import counts_from_recipients, stored_counts
from campaigns.tasks import import_file

from ..factories import OptOutFactory, RecipientFactory
from .conftest import make_template

pytestmark = pytest.mark.django_db

HEADER = "country_code,phone_number,body_param_1,body_param_2,body_param_3,body_param_4"
ROW = "{cc},{phone},Ana,PK-1,tomorrow,9-12"


def upload(api, campaign, content: bytes, name="recipients.csv", **params):
    f = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return api.post(
        f"/api/v1/campaigns/{campaign.id}/recipients/?{query}", {"file": f}, format="multipart"
    )


def phones(campaign):
    return sorted(Recipient.objects.filter(campaign=campaign).values_list("phone", flat=True))


def xlsx_bytes(rows, extra_sheets=()) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for title, sheet_rows in extra_sheets:
        other = wb.create_sheet(title)
        for row in sheet_rows:
            other.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_text(*rows, header=HEADER, sep=",", newline="\n"):
    lines = [header.replace(",", sep)] + [r.replace(",", sep) for r in rows]
    return newline.join(lines) + newline


CASES = [
    # (id, bytes, expected phones, rejected rows)
    ("utf8", csv_text(ROW.format(cc="+1", phone="4155550100")).encode(), ["+14155550100"], 0),
    (
        "bom",
        ("\ufeff" + csv_text(ROW.format(cc="+1", phone="4155550100"))).encode(),
        ["+14155550100"],
        0,
    ),
    (
        "utf16",
        csv_text(ROW.format(cc="+1", phone="4155550100"), sep="\t").encode("utf-16"),
        ["+14155550100"],
        0,
    ),
    (
        "cp1252",
        csv_text("+1,4155550100,Zoë,PK-1,mañana,9-12").encode("cp1252"),
        ["+14155550100"],
        0,
    ),
    (
        "semicolons",
        csv_text(ROW.format(cc="+1", phone="4155550100"), sep=";").encode(),
        ["+14155550100"],
        0,
    ),
    (
        "tabs",
        csv_text(ROW.format(cc="+1", phone="4155550100"), sep="\t").encode(),
        ["+14155550100"],
        0,
    ),
    (
        "crlf",
        csv_text(ROW.format(cc="+1", phone="4155550100"), newline="\r\n").encode(),
        ["+14155550100"],
        0,
    ),
    (
        "trailing empty rows",
        (csv_text(ROW.format(cc="+1", phone="4155550100")) + ",,,,,\n\n,,,,,\n").encode(),
        ["+14155550100"],
        0,
    ),
    (
        "excel float phone",
        csv_text(ROW.format(cc="1", phone="4155550100.0")).encode(),
        ["+14155550100"],
        0,
    ),
    (
        "exact scientific",
        csv_text(ROW.format(cc="1", phone="4.155550100E+09")).encode(),
        ["+14155550100"],
        0,
    ),
    ("lossy scientific", csv_text(ROW.format(cc="1", phone="4.15555E+09")).encode(), [], 1),
    (
        "trunk zero",
        csv_text(ROW.format(cc="44", phone="020 7946 0000")).encode(),
        ["+442079460000"],
        0,
    ),
    (
        "country code forms",
        csv_text(
            ROW.format(cc="001", phone="(415) 555-0101"),
            ROW.format(cc="1", phone="415.555.0102"),
            ROW.format(cc="+1", phone="415 555 0103"),
        ).encode(),
        ["+14155550101", "+14155550102", "+14155550103"],
        0,
    ),
    (
        "full international number alone",
        csv_text(
            ROW.format(cc="", phone="+14155550100"),
            ROW.format(cc="", phone="+55 11 98765-4321"),
        ).encode(),
        ["+14155550100", "+5511987654321"],
        0,
    ),
    (
        "no plus and no country code",
        csv_text(ROW.format(cc="", phone="4155550100")).encode(),
        [],
        1,
    ),
    ("impossible number", csv_text(ROW.format(cc="+1", phone="123")).encode(), [], 1),
    ("missing value", csv_text("+1,4155550100,Ana,,tomorrow,9-12").encode(), [], 1),
    ("emoji", csv_text("+1,4155550100,Ana 🎉,PK-1,tomorrow,9-12").encode(), ["+14155550100"], 0),
    (
        "quoted commas and newlines",
        (
            HEADER
            + '\n+1,4155550100,"Smith, Ana",PK-1,"to\nmorrow",9-12\n'
            + "+1,4155550101,Bob,PK-2,today,1-2\n"
        ).encode(),
        ["+14155550101"],
        1,
    ),  # a line break inside a parameter: Meta refuses it
]


@pytest.mark.parametrize(
    ("content", "expected", "rejected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_awkward_inputs(owner_api, campaign_a, content, expected, rejected):
    response = upload(owner_api, campaign_a, content)
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["rejected"] == rejected, report["rejected_rows"]
    assert report["imported"] == len(expected)
    assert phones(campaign_a) == expected


def test_every_rejected_row_is_explained_with_line_column_and_reason(owner_api, campaign_a):
    content = csv_text(
        ROW.format(cc="+1", phone="4155550100"),
        ROW.format(cc="+1", phone="12"),
        "+1,4155550102,,PK-1,tomorrow,9-12",
        ROW.format(cc="+1", phone="4155550100"),
    ).encode()
    report = upload(owner_api, campaign_a, content).json()
    assert report["rows_read"] == 4
    assert (report["imported"], report["rejected"], report["skipped_duplicate"]) == (1, 2, 1)
    rows = {(r["line"], r["column"], r["kind"]) for r in report["rejected_rows"]}
    assert rows == {
        (3, "phone_number", "rejected"),
        (4, "body_param_1", "rejected"),
        (5, "phone_number", "skipped"),
    }
    reasons = {r["line"]: r["reason"] for r in report["rejected_rows"]}
    assert "body_param_1 is empty" in reasons[4]
    assert reasons[5] == "duplicate of line 2"


def test_the_report_previews_rows_as_the_message(owner_api, campaign_a):
    report = upload(
        owner_api, campaign_a, csv_text(ROW.format(cc="+1", phone="4155550100")).encode()
    ).json()
    assert report["preview"][0]["message"]["body"] == (
        "Hi Ana, your parcel PK-1 arrives tomorrow between 9-12."
    )


def test_numbers_already_in_the_campaign_and_opted_out_are_skipped(owner_api, campaign_a):
    RecipientFactory(campaign=campaign_a, phone="+14155550100")
    Campaign.objects.filter(pk=campaign_a.pk).update(total_recipients=1, pending_count=1)
    OptOutFactory(workspace=campaign_a.workspace, phone="+14155550101")
    content = csv_text(
        ROW.format(cc="+1", phone="4155550100"),
        ROW.format(cc="+1", phone="4155550101"),
        ROW.format(cc="+1", phone="4155550102"),
    ).encode()
    report = upload(owner_api, campaign_a, content).json()
    assert (report["imported"], report["skipped_duplicate"], report["skipped_opted_out"]) == (
        1,
        1,
        1,
    )
    assert phones(campaign_a) == ["+14155550100", "+14155550102"]
    assert stored_counts(campaign_id=campaign_a.pk) == counts_from_recipients(
        campaign_id=campaign_a.pk
    )


def test_extra_columns_are_a_warning(owner_api, campaign_a):
    content = csv_text(
        "+1,4155550100,Ana,PK-1,tomorrow,9-12,VIP", header=HEADER + ",Customer Notes"
    ).encode()
    report = upload(owner_api, campaign_a, content).json()
    assert report["imported"] == 1
    assert report["warnings"] == [
        "Column 'customer_notes' is not used by this template and was ignored."
    ]
    assert Recipient.objects.get().values == {
        "body_param_1": "Ana",
        "body_param_2": "PK-1",
        "body_param_3": "tomorrow",
        "body_param_4": "9-12",
    }


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


def test_dry_run_reports_and_stores_nothing(owner_api, campaign_a):
    content = csv_text(
        ROW.format(cc="+1", phone="4155550100"), ROW.format(cc="+1", phone="99")
    ).encode()
    response = upload(owner_api, campaign_a, content, dry_run="true")
    assert response.status_code == 200
    report = response.json()
    assert report["dry_run"] is True
    assert (report["imported"], report["rejected"]) == (1, 1)
    assert report["rejections_url"] is None
    assert Recipient.objects.count() == 0
    assert ImportReport.objects.count() == 0
    assert ImportRejection.objects.count() == 0
    campaign_a.refresh_from_db()
    assert campaign_a.total_recipients == 0


def test_more_files_add_to_a_draft_campaign(owner_api, campaign_a):
    upload(owner_api, campaign_a, csv_text(ROW.format(cc="+1", phone="4155550100")).encode())
    upload(
        owner_api,
        campaign_a,
        csv_text(
            ROW.format(cc="+1", phone="4155550101"), ROW.format(cc="+1", phone="4155550100")
        ).encode(),
    )
    campaign_a.refresh_from_db()
    assert campaign_a.total_recipients == 2
    assert campaign_a.pending_count == 2
    assert stored_counts(campaign_id=campaign_a.pk) == counts_from_recipients(
        campaign_id=campaign_a.pk
    )


@pytest.mark.parametrize("state", ["running", "paused", "completed", "stopped"])
def test_only_draft_or_scheduled_campaigns_accept_uploads(owner_api, campaign_a, state):
    Campaign.objects.filter(pk=campaign_a.pk).update(status=state)
    response = upload(
        owner_api, campaign_a, csv_text(ROW.format(cc="+1", phone="4155550100")).encode()
    )
    assert response.status_code == 409
    assert f"{state} campaign" in response.json()["detail"]
    assert Recipient.objects.count() == 0


def test_a_quoted_comma_stays_inside_its_value(owner_api, campaign_a):
    content = (HEADER + '\n+1,4155550100,"Smith, Ana",PK-1,"today, 9-12",later\n').encode()
    report = upload(owner_api, campaign_a, content).json()
    assert (report["imported"], report["rejected"]) == (1, 0)
    values = Recipient.objects.get(campaign=campaign_a).values
    assert values["body_param_1"] == "Smith, Ana"
    assert values["body_param_3"] == "today, 9-12"
    assert values["body_param_4"] == "later"


def test_a_scheduled_campaign_accepts_more_recipients(owner_api, campaign_a):
    from datetime import timedelta

    Campaign.objects.filter(pk=campaign_a.pk).update(
        status="scheduled", send_at=timezone.now() + timedelta(days=1)
    )
    response = upload(
        owner_api, campaign_a, csv_text(ROW.format(cc="+1", phone="4155550100")).encode()
    )
    assert response.status_code == 201
    assert phones(campaign_a) == ["+14155550100"]
    campaign_a.refresh_from_db()
    assert (campaign_a.status, campaign_a.pending_count) == ("scheduled", 1)


def test_a_failure_mid_file_leaves_the_campaign_as_it_was(owner_api, campaign_a):
    upload(owner_api, campaign_a, csv_text(ROW.format(cc="+1", phone="4155550199")).encode())
    # a broken byte sequence deep in a UTF-16 file makes the reader fail after many rows
    rows = [ROW.format(cc="+1", phone=f"41555{i:05d}") for i in range(2000)]
    good = csv_text(*rows, sep="\t").encode("utf-16")
    broken = good + b"\x00\xd8"  # a lone surrogate half: undecodable
    response = upload(owner_api, campaign_a, broken)
    assert response.status_code == 400
    assert phones(campaign_a) == ["+14155550199"]
    campaign_a.refresh_from_db()
    assert campaign_a.total_recipients == 1
    failed = ImportReport.objects.get(status="failed")
    assert failed.error


def test_rejections_download_lists_every_row_as_safe_csv(owner_api, campaign_a):
    content = csv_text(*[ROW.format(cc="+1", phone=f"=cmd|{i}") for i in range(150)]).encode()
    report = upload(owner_api, campaign_a, content).json()
    assert report["rejected"] == 150
    assert len(report["rejected_rows"]) == 100  # the first 100 inline
    response = owner_api.get(report["rejections_url"])
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "line,kind,column,reason,value"
    assert len(lines) == 151
    assert lines[1].endswith(",'=cmd|0")  # formula injection neutralised


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


NUL_ROWS = [
    "+1,4155550100,A\x00na,PK-1,tomorrow,9-12",
    "+1,41555\x0050101,Bob,PK-2,today,1-2",
    "+1\x00,4155550102,Cy,PK-3,today,1-2",
    "+1,4155550103,Di,PK-4,today,1-2",
]


def test_nul_characters_deep_in_a_csv_are_rejected_rows(owner_api, campaign_a):
    """A NUL at the start marks a binary file; one deep inside a text file (past what the
    reader samples) is a bad cell: PostgreSQL cannot store it and Meta would not send it."""
    filler = [ROW.format(cc="+1", phone=f"41566{i:05d}") for i in range(3000)]
    report = upload(owner_api, campaign_a, csv_text(*filler, *NUL_ROWS).encode()).json()
    assert report["imported"] == 3001
    assert report["rejected"] == 3
    problems = {(p["column"], p["reason"]) for p in report["rejected_rows"]}
    assert ("body_param_1", "body_param_1 contains a NUL character") in problems
    assert all("\x00" not in p["value"] for p in report["rejected_rows"])
    assert ImportRejection.objects.filter(report_id=report["id"]).count() == 3
    assert "+14155550103" in phones(campaign_a)


def test_nul_characters_in_a_json_list_are_rejected_rows(owner_api, campaign_a):
    keys = ["country_code", "phone_number", "body_param_1", "body_param_2", "body_param_3"]
    body = [
        dict(zip([*keys, "body_param_4"], row.split(","), strict=True)) | {"note\x00": "x"}
        for row in NUL_ROWS
    ]
    response = owner_api.post(f"/api/v1/campaigns/{campaign_a.id}/recipients/", body, format="json")
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["imported"] == 1
    assert report["rejected"] == 3
    assert phones(campaign_a) == ["+14155550103"]


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


def test_large_files_import_in_a_task_with_a_report_to_poll(
    owner_api, campaign_a, settings, django_capture_on_commit_callbacks, tmp_path
):
    settings.IMPORT_ASYNC_BYTES = 100
    settings.MEDIA_ROOT = tmp_path
    content = csv_text(*[ROW.format(cc="+1", phone=f"41555501{i:02d}") for i in range(20)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(owner_api, campaign_a, content.encode())
    assert response.status_code == 202
    assert len(callbacks) == 1
    report_url = response.json()["url"]
    assert owner_api.get(report_url).json()["status"] == "queued"
    # the worker's side: the enqueued task, run in-process
    import_file(*callbacks[0].args)
    report = owner_api.get(report_url).json()
    assert report["status"] == "completed"
    assert report["imported"] == 20
    assert not list((tmp_path / "imports").iterdir())  # the stored upload is deleted


@pytest.mark.parametrize("who", ["member_api", "outsider_api", "anon_api"])
def test_the_cast_on_the_import_endpoint(request, campaign_a, who):
    api = request.getfixturevalue(who)
    response = upload(api, campaign_a, csv_text(ROW.format(cc="+1", phone="4155550100")).encode())
    expected = {"member_api": 201, "outsider_api": 404, "anon_api": 401}[who]
    assert response.status_code == expected
    listing = api.get(f"/api/v1/campaigns/{campaign_a.id}/recipients/")
    assert listing.status_code == {"member_api": 200, "outsider_api": 404, "anon_api": 401}[who]


def test_recipients_list_filters_by_status(owner_api, campaign_a):
    failed_at = timezone.now()
    RecipientFactory(
        campaign=campaign_a,
        status="failed",
        wamid="wamid.F1",
        sent_at=failed_at,
        failed_at=failed_at,
        error_code=131026,
        error_title="Undeliverable",
        error_details="Message undeliverable.",
    )
    RecipientFactory(campaign=campaign_a)
    body = owner_api.get(f"/api/v1/campaigns/{campaign_a.id}/recipients/?status=failed").json()
    assert [r["error"]["code"] for r in body["results"]] == [131026]
    row = body["results"][0]
    assert row["error"] == {
        "code": 131026,
        "title": "Undeliverable",
        "details": "Message undeliverable.",
        "retryable": None,
    }
    assert (row["wamid"], row["values"]) == ("wamid.F1", {"body_param_1": "Ana"})
    assert row["sent_at"]
    assert row["failed_at"]
    assert (row["delivered_at"], row["read_at"]) == (None, None)
    bad = owner_api.get(f"/api/v1/campaigns/{campaign_a.id}/recipients/?status=bogus")
    assert bad.status_code == 400
    assert json.loads(bad.content)["status"]


# --- whole-file errors leave a failed report, never a queued one -----------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"phone_number,phone_number\n+14155550100,x\n", "appears twice"),
        (b"\n\n", "empty"),
    ],
    ids=["binary", "duplicate header", "blank"],
)
def test_a_file_refused_whole_leaves_a_failed_report(owner_api, campaign_a, content, message):
    response = upload(owner_api, campaign_a, content)
    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert not ImportReport.objects.filter(status="queued").exists()
    report = ImportReport.objects.get()
    assert report.status == "failed"
    assert message in report.error
    assert report.finished_at is not None
    listed = owner_api.get(f"/api/v1/campaigns/{campaign_a.id}/imports/").json()
    assert [r["status"] for r in listed] == ["failed"]


@pytest.mark.parametrize(
    ("body", "message"), [([1, 2], "is not an object"), ([], "is empty")], ids=["scalars", "empty"]
)
def test_a_json_list_of_the_wrong_shape_leaves_a_failed_report(
    owner_api, campaign_a, body, message
):
    response = owner_api.post(f"/api/v1/campaigns/{campaign_a.id}/recipients/", body, format="json")
    assert response.status_code == 400
    assert message in response.json()["file"][0]
    assert not ImportReport.objects.filter(status="queued").exists()
    assert message in ImportReport.objects.get(status="failed").error


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" * 20, "photo.csv", "binary"),
        (b"phone_number,phone_number\n" + b"+14155550100,x\n" * 20, "r.csv", "appears twice"),
        (b"PK\x03\x04" + b"not a zip" * 30, "r.xlsx", "not a readable XLSX"),
    ],
    ids=["png", "duplicate header", "broken zip"],
)
def test_a_large_file_refused_whole_fails_its_report_in_the_task(
    owner_api,
    campaign_a,
    settings,
    django_capture_on_commit_callbacks,
    tmp_path,
    content,
    name,
    message,
):
    settings.IMPORT_ASYNC_BYTES = 100
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(owner_api, campaign_a, content, name=name)
    assert response.status_code == 202
    import_file(*callbacks[0].args)
    report = owner_api.get(response.json()["url"]).json()
    assert report["status"] == "failed"
    assert message in report["error"]
    assert Recipient.objects.count() == 0
    assert not list((tmp_path / "imports").iterdir())  # the stored upload is deleted


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


# --- CSV rows wider than the header ----------------------------------------------------------


def test_a_csv_row_with_more_cells_than_the_header_is_rejected(owner_api, campaign_a):
    content = csv_text(
        "+1,4155550100,Smith, Ana,PK-1,tomorrow,9-12",
        "+1,4155550101,Bob,PK-2,today,1-2,,",
        "+1,4155550102,Cy,PK-3,today,1-2",
    ).encode()
    report = upload(owner_api, campaign_a, content).json()
    assert (report["imported"], report["rejected"]) == (2, 1), report
    assert phones(campaign_a) == ["+14155550101", "+14155550102"]
    [problem] = report["rejected_rows"]
    assert problem["line"] == 2
    assert "the row has 7 cells but the header has 6 columns" in problem["reason"]
    assert "needs quotes" in problem["reason"]
    assert Recipient.objects.get(phone="+14155550101").values["body_param_4"] == "1-2"
    assert report["warnings"] == []


def test_data_under_a_column_without_a_name_is_one_warning(owner_api, campaign_a):
    content = csv_text(
        "+1,4155550100,Ana,PK-1,tomorrow,9-12,VIP,",
        "+1,4155550101,Bob,PK-2,today,1-2,,x",
        "+1,4155550102,Cy,PK-3,today,1-2,,,too,many",
        header=HEADER + ",,",
    ).encode()
    report = upload(owner_api, campaign_a, content).json()
    assert (report["imported"], report["rejected"]) == (2, 1), report
    assert report["rejected_rows"][0]["line"] == 4
    assert "10 cells but the header has 8 columns" in report["rejected_rows"][0]["reason"]
    assert report["warnings"] == [
        "Column 7 has no name in the header but holds data (first on line 2); it was ignored."
    ]
    middle = csv_text(
        "+1,X,4155550200,Ana,PK-1,tomorrow,9-12",
        "+1,Y,4155550201,Bob,PK-2,today,1-2",
        header=HEADER.replace(",", ",,", 1),
    ).encode()
    report = upload(owner_api, campaign_a, middle).json()
    assert report["imported"] == 2, report
    assert report["warnings"] == [
        "Column 2 has no name in the header but holds data (first on line 2); it was ignored."
    ]


# --- bounded report text ---------------------------------------------------------------------


def test_a_huge_cell_is_not_echoed_whole_in_the_report(owner_api, campaign_a):
    content = csv_text(
        "9" * 100_000 + ",4155550100,Ana,PK-1,tomorrow,9-12",
        "+1,4.15555E+" + "0" * 100_000 + "9,Ana,PK-1,tomorrow,9-12",
    ).encode()
    response = upload(owner_api, campaign_a, content)
    assert response.status_code == 201
    assert len(response.content) < 10_000
    report = response.json()
    assert report["rejected"] == 2
    for problem in report["rejected_rows"]:
        assert len(problem["reason"]) < 200
    assert "…" in report["rejected_rows"][0]["reason"]
    stored = ImportRejection.objects.filter(report_id=report["id"])
    assert all(len(r.reason) < 200 for r in stored)


def test_unknown_column_warnings_are_capped(owner_api, campaign_a):
    extra = [f"{'x' * 500}{i}" for i in range(30)]
    header = HEADER + "," + ",".join(extra)
    content = csv_text(ROW.format(cc="+1", phone="4155550100") + ",v" * 30, header=header)
    report = upload(owner_api, campaign_a, content.encode()).json()
    assert report["imported"] == 1
    assert len(report["warnings"]) == 21
    assert all(len(w) < 150 for w in report["warnings"])
    assert report["warnings"][-1] == "… and 10 more unknown columns were ignored."


# --- dry_run must be a yes or a no -----------------------------------------------------------


@pytest.mark.parametrize("value", ["ture", "y", "2", "maybe"])
def test_a_dry_run_value_that_is_not_a_yes_or_no_is_a_400(owner_api, campaign_a, value):
    content = csv_text(ROW.format(cc="+1", phone="4155550100")).encode()
    response = upload(owner_api, campaign_a, content, dry_run=value)
    assert response.status_code == 400
    assert "dry_run" in response.json()
    assert Recipient.objects.count() == 0
    assert ImportReport.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "dry"),
    [("TRUE", True), ("Yes", True), ("1", True), ("False", False), ("no", False), ("0", False)],
)
def test_dry_run_accepts_true_false_yes_no_one_zero(owner_api, campaign_a, value, dry):
    content = csv_text(ROW.format(cc="+1", phone="4155550100")).encode()
    response = upload(owner_api, campaign_a, content, dry_run=value)
    assert response.status_code == (200 if dry else 201)
    assert response.json()["dry_run"] is dry
    assert Recipient.objects.count() == (0 if dry else 1)


# --- Meta's cap on the whole body ------------------------------------------------------------

BODY_MAX = 1024
DELIVERY_STATIC = len("Hi , your parcel  arrives  between .")


def test_a_row_whose_body_would_be_too_long_is_rejected(owner_api, campaign_a):
    room = BODY_MAX - DELIVERY_STATIC - len("PK-1tomorrow9-12")
    content = csv_text(
        f"+1,4155550100,{'a' * room},PK-1,tomorrow,9-12",  # exactly 1024
        f"+1,4155550101,{'a' * (room + 1)},PK-1,tomorrow,9-12",  # 1025
        "+1,4155550102,Ana,PK-1,tomorrow,9-12",
    ).encode()
    report = upload(owner_api, campaign_a, content).json()
    assert (report["imported"], report["rejected"]) == (2, 1), report
    assert phones(campaign_a) == ["+14155550100", "+14155550102"]
    [problem] = report["rejected_rows"]
    assert problem["line"] == 3
    assert problem["column"] == "body_param_1"
    assert "1025 characters" in problem["reason"]
    assert "at most 1024" in problem["reason"]


def test_a_value_written_twice_into_the_body_counts_twice(owner_api, workspace_a):
    components = [{"type": "BODY", "text": "{{1}} and {{1}} again, {{2}}."}]
    template = make_template(workspace_a, components=components)
    created = owner_api.post(
        "/api/v1/campaigns/", {"name": "Twice", "template_id": str(template.id)}, format="json"
    )
    campaign = Campaign.objects.get(id=created.json()["id"])
    static = len(" and  again, .")
    half = (BODY_MAX - static - 1) // 2  # with a 1-character {{2}}
    content = (
        "country_code,phone_number,body_param_1,body_param_2\n"
        f"+1,4155550100,{'a' * half},b\n"
        f"+1,4155550101,{'a' * (half + 1)},b\n"
    ).encode()
    report = upload(owner_api, campaign, content).json()
    assert (report["imported"], report["rejected"]) == (1, 1), report
    assert report["rejected_rows"][0]["line"] == 3
    assert "at most 1024" in report["rejected_rows"][0]["reason"]


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


def test_imports_a_dead_worker_left_behind_end_failed(owner_api, campaign_a, settings, tmp_path):
    """Beat: a report still queued or running long after its upload says it was interrupted,
    and its stored file goes; recent ones are left alone."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from campaigns.services.imports import INTERRUPTED, stored_upload_name
    from campaigns.tasks import campaigns_expire_imports

    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_STALE_HOURS = 12
    old = timezone.now() - timedelta(hours=13)
    stale = []
    for state in ("queued", "running"):
        report = ImportReport.objects.create(
            campaign=campaign_a, source="csv", file_name="big.csv", status=state
        )
        ImportReport.objects.filter(pk=report.pk).update(created_at=old)
        default_storage.save(stored_upload_name(report.pk, ".csv"), ContentFile(b"x"))
        stale.append(report)
    recent = ImportReport.objects.create(campaign=campaign_a, source="csv", file_name="b.csv")

    assert campaigns_expire_imports() == 2

    for report in stale:
        report.refresh_from_db()
        assert (report.status, report.error) == ("failed", INTERRUPTED)
        assert report.finished_at is not None
        assert not default_storage.exists(stored_upload_name(report.pk, ".csv"))
    recent.refresh_from_db()
    assert recent.status == "queued"
    shown = owner_api.get(f"/api/v1/campaigns/{campaign_a.id}/imports/{stale[0].pk}/").json()
    assert shown["status"] == "failed"
    assert "interrupted" in shown["error"]
