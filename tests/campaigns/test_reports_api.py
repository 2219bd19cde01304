"""A campaign's export and stats, and the opt-out list's export, through the API."""

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from django.utils import timezone

from campaigns import exports
from campaigns.models import Campaign, OptOut
from campaigns.tracking import campaign_recount
from whatsapp.variables import variables_for

from ..factories import CampaignFactory, MessageTemplateFactory, OptOutFactory, RecipientFactory

pytestmark = pytest.mark.django_db

HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTab", "\rReturn"]
T = datetime(2026, 12, 1, 9, 30, 15, tzinfo=UTC)


@pytest.fixture
def campaign(workspace_a):
    template = MessageTemplateFactory(account__workspace=workspace_a)
    return CampaignFactory(template=template, status=Campaign.Status.RUNNING, started_at=T)


def columns(campaign):
    return [v.column for v in variables_for(campaign.template)]


def recipient(campaign, **fields):
    values = fields.pop("values", None)
    if values is None:
        values = dict(zip(columns(campaign), ["Ana", "PK-1", "today"], strict=True))
    r = RecipientFactory(campaign=campaign, values=values, **fields)
    campaign_recount(campaign_id=campaign.pk)
    return r


def read_csv(response) -> list[dict]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def read_xlsx(response):
    assert response.streaming
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return book.active


# --- export ------------------------------------------------------------------------------


def test_csv_export_has_every_recipient_with_values_times_and_errors(owner_api, campaign):
    recipient(campaign, status="read", wamid="wamid.R", sent_at=T, delivered_at=T, read_at=T)
    failed = recipient(
        campaign,
        status="failed",
        failed_at=T,
        error_code=131026,
        error_title="Message undeliverable",
        error_details="The number is not on WhatsApp.",
    )

    response = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="campaign-')
    rows = read_csv(response)
    assert [r["status"] for r in rows] == ["read", "failed"]  # import order
    first, second = rows
    assert first["phone"].lstrip("'") == campaign.recipients.order_by("id")[0].phone
    assert [first[c] for c in columns(campaign)] == ["Ana", "PK-1", "today"]
    assert first["wamid"] == "wamid.R"
    assert first["read_at"] == "2026-12-01T09:30:15Z"
    assert second["phone"] == "'" + failed.phone  # "+…" is neutralised too, and readable
    assert second["error_code"] == "131026"
    assert second["error_title"] == "Message undeliverable"
    assert second["failed_at"] == "2026-12-01T09:30:15Z"


def test_csv_export_neutralises_formula_cells(owner_api, campaign):
    names = columns(campaign)
    for i, value in enumerate(HOSTILE):
        recipient(
            campaign,
            phone=f"+1415555{i:04d}",
            values=dict.fromkeys(names, value),
            status="failed",
            error_details=value,
        )

    rows = read_csv(owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/?format=csv"))

    assert [r[names[0]] for r in rows] == ["'" + v for v in HOSTILE]
    assert [r["error_details"] for r in rows] == ["'" + v for v in HOSTILE]


def test_xlsx_export_types_cells_as_text_numbers_and_dates(owner_api, campaign):
    names = columns(campaign)
    recipient(
        campaign,
        values=dict.fromkeys(names, '=HYPERLINK("http://evil")'),
        status="failed",
        failed_at=T,
        error_code=131026,
        attempts=2,
    )

    sheet = read_xlsx(owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/?format=xlsx"))

    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert header[0] == "phone"
    assert header[1 : 1 + len(names)] == names
    assert row[names[0]].value == '=HYPERLINK("http://evil")'
    assert row[names[0]].data_type == "s"  # text, never a formula
    assert row["error_code"].value == 131026
    assert row["attempts"].value == 2
    assert row["failed_at"].value == T.replace(tzinfo=None)  # a date, in UTC
    assert row["delivered_at"].value is None
    assert row["phone"].value.startswith("+")


def test_export_filters_by_one_or_several_statuses(owner_api, campaign):
    for state in ("pending", "sent", "failed", "skipped"):
        recipient(campaign, status=state)

    def statuses(query):
        rows = read_csv(owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/?{query}"))
        return [r["status"] for r in rows]

    assert statuses("status=failed") == ["failed"]
    assert statuses("status=failed,skipped") == ["failed", "skipped"]
    assert statuses("") == ["pending", "sent", "failed", "skipped"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=lost", "status"), ("status=failed,%00", "status"), ("format=pdf", "format")],
)
def test_export_refuses_unknown_statuses_and_formats(owner_api, campaign, query, field):
    response = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_an_xlsx_too_long_for_excel_is_refused_with_the_csv_way_out(
    owner_api, campaign, monkeypatch
):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    for _ in range(3):
        recipient(campaign, status="sent")

    response = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/?format=xlsx")

    assert response.status_code == 400
    assert "CSV" in response.json()["format"][0]
    assert owner_api.get(f"/api/v1/campaigns/{campaign.pk}/export/?format=csv").status_code == 200


def test_export_and_stats_are_the_workspaces_own(outsider_api, anon_api, member_api, campaign):
    for path in ("export/", "stats/"):
        url = f"/api/v1/campaigns/{campaign.pk}/{path}"
        assert outsider_api.get(url).status_code == 404
        assert anon_api.get(url).status_code == 401
        assert member_api.get(url).status_code == 200
    assert outsider_api.get("/api/v1/campaigns/not-a-uuid/stats/").status_code == 404


# --- opt-outs ------------------------------------------------------------------------------


def test_opt_out_export_holds_only_the_callers_workspaces(owner_api, workspace_a, workspace_b):
    OptOutFactory(workspace=workspace_a, phone="+447700900001", source=OptOut.Source.KEYWORD)
    OptOutFactory(workspace=workspace_a, phone="+447700900002", detail="=cmd|' /C calc'!A0")
    OptOutFactory(workspace=workspace_b, phone="+447700900003")

    rows = read_csv(owner_api.get("/api/v1/opt-outs/export/"))
    sheet = read_xlsx(owner_api.get("/api/v1/opt-outs/export/?format=xlsx"))

    assert sorted(r["phone"] for r in rows) == ["'+447700900001", "'+447700900002"]
    assert {r["workspace"] for r in rows} == {"Workspace A"}
    assert "'=cmd|' /C calc'!A0" in [r["detail"] for r in rows]
    assert sheet.max_row == 3
    listed = owner_api.get("/api/v1/opt-outs/?phone=4477009000").json()["results"]
    assert sorted(o["phone"] for o in listed) == ["+447700900001", "+447700900002"]


# --- stats ---------------------------------------------------------------------------------


def test_stats_give_the_funnel_timeline_failures_and_deferred(owner_api, campaign):
    later = timezone.now() + timedelta(hours=3)
    recipient(campaign, status="read", sent_at=T, delivered_at=T, read_at=T + timedelta(minutes=2))
    recipient(campaign, status="delivered", sent_at=T, delivered_at=T, replied_at=T)
    recipient(campaign, status="sent", sent_at=T + timedelta(minutes=1))
    for title in ("Message undeliverable", "Message undeliverable"):
        recipient(campaign, status="failed", failed_at=T, error_code=131026, error_title=title)
    recipient(campaign, status="failed", failed_at=T, error_code=131049, error_title="Ecosystem")
    deferred = recipient(
        campaign, status="pending", next_attempt_at=later, attempts=1, error_code=131049
    )
    recipient(campaign, status="pending")

    response = owner_api.get(f"/api/v1/campaigns/{campaign.pk}/stats/")

    assert response.status_code == 200
    body = response.json()
    assert body["funnel"]["counts"] == {
        "total": 8,
        "pending": 2,
        "sending": 0,
        "sent": 3,
        "delivered": 2,
        "read": 1,
        "failed": 3,
        "skipped": 0,
        "unknown": 0,
        "replied": 1,
        "clicked": 0,
    }
    assert body["funnel"]["rates"] == {
        "delivered": round(2 / 3, 4),
        "read": 0.5,
        "replied": 0.5,
        "clicked": 0.0,
        "failed": 0.5,
    }
    assert body["timeline"] == [
        {
            "minute": "2026-12-01T09:30:00Z",
            "sent": 2,
            "delivered": 2,
            "read": 0,
            "failed": 3,
            "replied": 1,
        },
        {
            "minute": "2026-12-01T09:31:00Z",
            "sent": 1,
            "delivered": 0,
            "read": 0,
            "failed": 0,
            "replied": 0,
        },
        {
            "minute": "2026-12-01T09:32:00Z",
            "sent": 0,
            "delivered": 0,
            "read": 1,
            "failed": 0,
            "replied": 0,
        },
    ]
    assert body["failure_reasons"] == [
        {"code": 131026, "title": "Message undeliverable", "count": 2},
        {"code": 131049, "title": "Ecosystem", "count": 1},
    ]
    assert body["deferred"]["count"] == 1
    assert body["deferred"]["recipients"][0]["id"] == deferred.pk
    assert body["deferred"]["recipients"][0]["phone"] == deferred.phone
    assert (
        body["deferred"]["next_attempt_at"] == body["deferred"]["recipients"][0]["next_attempt_at"]
    )


def test_stats_timeline_since_and_its_validation(owner_api, campaign):
    recipient(campaign, status="sent", sent_at=T)
    recipient(campaign, status="sent", sent_at=T + timedelta(minutes=5))
    url = f"/api/v1/campaigns/{campaign.pk}/stats/"

    polled = owner_api.get(url, {"since": "2026-12-01T09:33:00Z"}).json()["timeline"]

    assert [p["minute"] for p in polled] == ["2026-12-01T09:35:00Z"]
    assert owner_api.get(url, {"since": "2026-12-01T09:33:00"}).status_code == 400  # naive
    assert owner_api.get(url, {"since": "yesterday"}).status_code == 400


def test_stats_of_an_empty_draft_have_no_rates(owner_api, workspace_a):
    draft = CampaignFactory(template__account__workspace=workspace_a)

    body = owner_api.get(f"/api/v1/campaigns/{draft.pk}/stats/").json()

    assert body["funnel"]["rates"] == dict.fromkeys(
        ("delivered", "read", "replied", "clicked", "failed")
    )
    assert body["timeline"] == []
    assert body["failure_reasons"] == []
    assert body["deferred"] == {
        "count": 0,
        "next_attempt_at": None,
        "last_attempt_at": None,
        "recipients": [],
    }
