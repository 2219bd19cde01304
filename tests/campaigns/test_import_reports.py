"""Recipient import, reports and campaigns: dry runs, which campaigns take uploads and
atomicity, the rejections download, the task for large files, who may import, failed and
bounded reports, stale imports."""

import json

import pytest
from django.utils import timezone

from campaigns.models import Campaign, ImportRejection, ImportReport, Recipient
from campaigns.tasks import import_file
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from ..factories import RecipientFactory
from .import_helpers import HEADER, ROW, csv_text, phones, upload

pytestmark = pytest.mark.django_db


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
