"""Recipient import, row by row: awkward inputs, each with its expected outcome; rejected
rows explained; duplicates, opt-outs, extra and unnamed columns; NUL characters; Meta's cap on
the whole body."""

import pytest

from campaigns.models import Campaign, ImportRejection, Recipient
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from ..factories import OptOutFactory, RecipientFactory
from .conftest import make_template
from .import_helpers import HEADER, ROW, csv_text, phones, upload

pytestmark = pytest.mark.django_db


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


def test_a_quoted_comma_stays_inside_its_value(owner_api, campaign_a):
    content = (HEADER + '\n+1,4155550100,"Smith, Ana",PK-1,"today, 9-12",later\n').encode()
    report = upload(owner_api, campaign_a, content).json()
    assert (report["imported"], report["rejected"]) == (1, 0)
    values = Recipient.objects.get(campaign=campaign_a).values
    assert values["body_param_1"] == "Smith, Ana"
    assert values["body_param_3"] == "today, 9-12"
    assert values["body_param_4"] == "later"


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
