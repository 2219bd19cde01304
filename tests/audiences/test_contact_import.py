"""POST /api/v1/contacts/import/: upsert and add_only, what an empty cell does, the report,
dry runs, lists, JSON, large files in a task, the cast."""

import pytest

from campaigns.models import Contact, ContactImport, ContactImportRejection, ContactList
from campaigns.tasks import contacts_import_file

from .contact_helpers import IMPORT_URL, contact, csv_upload

pytestmark = pytest.mark.django_db
HEADER = "country_code,phone_number,name,tags,time_zone,city,plan"


def rows(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def test_upsert_creates_updates_and_counts_the_unchanged(owner_api, workspace_a):
    contact(workspace_a, "+14155550100", name="Ana", tags=["vip"], attributes={"city": "Pune"})
    contact(workspace_a, "+14155550101", name="Bo", attributes={"city": "Goa"})
    text = rows(
        '1,4155550100,,"New, VIP",,Mumbai,',  # updated: tag added, city replaced
        "1,4155550101,,,,Goa,",  # unchanged: same city, empty cells
        "+1,415-555-0102,Cy,x,Europe/Berlin,Delhi,gold",  # created
    )
    response = csv_upload(owner_api, text)
    assert response.status_code == 201, response.json()
    report = response.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 1, 1)
    assert report["mode"] == "upsert"
    ana = Contact.objects.get(phone="+14155550100")
    assert ana.name == "Ana"  # an empty cell keeps the stored value
    assert ana.tags == ["vip", "new"]  # tags are added, lower-cased, deduplicated
    assert ana.attributes == {"city": "Mumbai"}
    cy = Contact.objects.get(phone="+14155550102")
    assert (cy.name, cy.tags, cy.time_zone) == ("Cy", ["x"], "Europe/Berlin")
    assert cy.attributes == {"city": "Delhi", "plan": "gold"}  # numbers and text stay text


def test_add_only_leaves_existing_contacts_alone(owner_api, workspace_a):
    contact(workspace_a, "+14155550100", name="Ana")
    text = rows("1,4155550100,Other,,,,", "1,4155550101,Bo,,,,")
    report = csv_upload(owner_api, text, mode="add_only").json()
    assert (report["created"], report["updated"], report["unchanged"]) == (1, 0, 1)
    assert Contact.objects.get(phone="+14155550100").name == "Ana"


def test_rejected_rows_are_reported_with_line_and_column(owner_api, workspace_a):
    text = rows(
        "1,12,,,,,",
        f"1,4155550101,{'x' * 201},,,,",
        "1,4155550102,,,Mars/Base,,",
        "1,4155550103,Ok,,,,",
        "1,415 555 0103,Again,,,,",
    )
    response = csv_upload(owner_api, text)
    report = response.json()
    assert (report["rows_read"], report["created"], report["rejected"]) == (5, 1, 3)
    assert report["skipped_duplicate"] == 1
    found = {(r["line"], r["column"], r["kind"]) for r in report["rejected_rows"]}
    assert found == {
        (2, "phone_number", "rejected"),
        (3, "name", "rejected"),
        (4, "time_zone", "rejected"),
        (6, "phone_number", "skipped"),
    }
    duplicate = next(r for r in report["rejected_rows"] if r["line"] == 6)
    assert duplicate["reason"] == "duplicate of line 5"  # the first row wins
    assert Contact.objects.get(phone="+14155550103").name == "Ok"
    assert ContactImportRejection.objects.count() == 4
    download = owner_api.get(report["rejections_url"])
    text = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert text[0] == "line,kind,column,reason,value"
    assert len(text) == 5


def test_dry_run_counts_exactly_and_stores_nothing(owner_api, workspace_a):
    contact(workspace_a, "+14155550100", name="Ana")
    text = rows("1,4155550100,Ana B,,,,", "1,4155550101,Bo,,,,", "1,1,,,,,")
    response = csv_upload(owner_api, text, dry_run="true")
    assert response.status_code == 200
    report = response.json()
    assert (report["created"], report["updated"], report["rejected"]) == (1, 1, 1)
    assert report["url"] is None
    assert Contact.objects.count() == 1
    assert Contact.objects.get().name == "Ana"
    assert ContactImport.objects.count() == 0
    assert ContactImportRejection.objects.count() == 0


def test_a_file_without_phone_number_is_refused_whole(owner_api, workspace_a):
    response = csv_upload(owner_api, "name,city\nAna,Pune\n")
    assert response.status_code == 400
    assert "phone_number" in str(response.json())
    assert Contact.objects.count() == 0


def test_imported_contacts_join_the_list(owner_api, workspace_a):
    members = ContactList.objects.create(workspace=workspace_a, name="Webinar")
    contact(workspace_a, "+14155550100")
    text = rows("1,4155550100,,,,,", "1,4155550101,,,,,", "1,2,,,,,")
    report = csv_upload(owner_api, text, list=members.pk, mode="add_only").json()
    assert report["contact_list"] == str(members.pk)
    assert set(members.members.values_list("contact__phone", flat=True)) == {
        "+14155550100",
        "+14155550101",
    }
    # again: no duplicate memberships
    csv_upload(owner_api, text, list=members.pk)
    assert members.members.count() == 2


def test_another_workspaces_list_is_a_400(owner_api, workspace_b):
    other = ContactList.objects.create(workspace=workspace_b, name="Theirs")
    response = csv_upload(owner_api, rows("1,4155550100,,,,,"), list=other.pk)
    assert response.status_code == 400
    assert Contact.objects.count() == 0


def test_a_json_list_imports_as_a_file_does(owner_api, workspace_a):
    body = {
        "contacts": [
            {"phone_number": "+14155550100", "name": "Ana", "tags": "a,b", "orders": 3},
            {"phone_number": "bad"},
        ]
    }
    response = owner_api.post(IMPORT_URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["created"], response.json()["rejected"]) == (1, 1)
    ana = Contact.objects.get()
    assert (ana.tags, ana.attributes) == (["a", "b"], {"orders": "3"})


def test_an_unknown_mode_is_a_400(owner_api, workspace_a):
    response = csv_upload(owner_api, rows("1,4155550100,,,,,"), mode="replace")
    assert response.status_code == 400
    assert "mode" in response.json()


def test_a_large_file_imports_in_a_task_with_a_report_to_poll(
    owner_api, workspace_a, settings, django_capture_on_commit_callbacks, tmp_path
):
    settings.IMPORT_ASYNC_BYTES = 100
    settings.MEDIA_ROOT = tmp_path
    text = rows(*[f"1,41555501{i:02d},N{i},t,,,," for i in range(30)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = csv_upload(owner_api, text)
    assert response.status_code == 202
    assert len(callbacks) == 1
    url = response.json()["url"]
    assert owner_api.get(url).json()["status"] == "queued"
    contacts_import_file(*callbacks[0].args)  # the worker's side, in-process
    report = owner_api.get(url).json()
    assert (report["status"], report["created"]) == ("completed", 30)
    assert Contact.objects.filter(workspace=workspace_a).count() == 30
    assert not list((tmp_path / "contact-imports").iterdir())
    assert owner_api.get("/api/v1/contacts/imports/").json()[0]["id"] == report["id"]


@pytest.mark.parametrize("who", ["member_api", "outsider_api", "anon_api"])
def test_the_cast_on_the_import_and_its_report(request, owner_api, workspace_a, who):
    report = csv_upload(owner_api, rows("1,4155550100,,,,,")).json()
    api = request.getfixturevalue(who)
    expected = {"member_api": 200, "outsider_api": 404, "anon_api": 401}[who]
    assert api.get(report["url"]).status_code == expected
    assert api.get(report["rejections_url"]).status_code == expected
    if who == "outsider_api":
        # naming the other workspace's list or workspace: refused, nothing imported
        members = ContactList.objects.create(workspace=workspace_a, name="L")
        response = csv_upload(api, rows("1,4155550109,,,,,"), list=members.pk)
        assert response.status_code == 400
        response = csv_upload(api, rows("1,4155550109,,,,,"), workspace=workspace_a.pk)
        assert response.status_code == 400
        assert not Contact.objects.filter(phone="+14155550109").exists()


def test_beat_fails_contact_imports_a_dead_worker_left_and_deletes_their_files(
    owner_api, workspace_a, settings, tmp_path
):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from campaigns.importing.uploads import INTERRUPTED
    from campaigns.tasks import campaigns_expire_imports

    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_STALE_HOURS = 12
    old = timezone.now() - timedelta(hours=13)
    stale = []
    for state in ("queued", "running"):
        report = ContactImport.objects.create(
            workspace=workspace_a, source="xlsx", file_name="people.xlsx", status=state
        )
        ContactImport.objects.filter(pk=report.pk).update(created_at=old)
        default_storage.save(f"contact-imports/{report.pk}.xlsx", ContentFile(b"x"))
        stale.append(report)
    recent = ContactImport.objects.create(workspace=workspace_a, source="csv", file_name="b.csv")
    done = ContactImport.objects.create(
        workspace=workspace_a, source="csv", file_name="c.csv", status="completed"
    )
    ContactImport.objects.filter(pk=done.pk).update(created_at=old)

    assert campaigns_expire_imports() == 2

    for report in stale:
        report.refresh_from_db()
        assert (report.status, report.error) == ("failed", INTERRUPTED)
        assert report.finished_at is not None
        assert not default_storage.exists(f"contact-imports/{report.pk}.xlsx")
        shown = owner_api.get(f"/api/v1/contacts/imports/{report.pk}/").json()
        assert (shown["status"], shown["error"]) == ("failed", INTERRUPTED)
    recent.refresh_from_db()
    done.refresh_from_db()
    assert (recent.status, done.status) == ("queued", "completed")
    assert campaigns_expire_imports() == 0  # once


def test_a_stored_upload_whose_file_is_refused_ends_failed_and_is_deleted(
    owner_api, workspace_a, settings, django_capture_on_commit_callbacks, tmp_path
):
    settings.IMPORT_ASYNC_BYTES = 100
    settings.MEDIA_ROOT = tmp_path
    text = "name,tags\n" + "Ana,vip\n" * 30  # no phone columns: the whole file is refused
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = csv_upload(owner_api, text)
    assert response.status_code == 202
    contacts_import_file(*callbacks[0].args)
    report = owner_api.get(response.json()["url"]).json()
    assert report["status"] == "failed"
    assert "phone_number" in report["error"]
    assert not list((tmp_path / "contact-imports").iterdir())
    assert not Contact.objects.filter(workspace=workspace_a).exists()


@pytest.mark.parametrize("mode", ["upsert", "add_only"])
def test_a_file_merged_in_several_chunks_counts_and_lists_as_one(
    owner_api, workspace_a, monkeypatch, mode
):
    """On PostgreSQL the staged rows are merged every MERGE_ROWS rows while the file is still
    read: counts, updates, repeats, rejections and list members equal a one-merge import."""
    from campaigns.audiences import contact_stage

    monkeypatch.setattr(contact_stage, "MERGE_ROWS", 4)
    monkeypatch.setattr(contact_stage, "COPY_BATCH", 2)  # rows per message to the COPY thread
    monkeypatch.setattr(contact_stage, "SQLITE_BATCH", 4)
    members = ContactList.objects.create(workspace=workspace_a, name="Chunked")
    for i in (1, 6, 11):
        contact(workspace_a, f"+141555502{i:02d}", name="Old", tags=["vip"])
    lines = [f"1,4155550{200 + i},New {i},lead,,Pune," for i in range(14)]
    lines.insert(5, "1,4155550201,Again,,,,")  # a repeat of a number in the file: skipped
    lines.insert(9, "1,n/a,Bad,,,,")  # rejected
    response = csv_upload(owner_api, rows(*lines), list=members.pk, mode=mode)
    assert response.status_code == 201, response.json()
    report = response.json()
    updated = 3 if mode == "upsert" else 0
    assert (report["created"], report["updated"], report["unchanged"]) == (11, updated, 3 - updated)
    assert (report["rejected"], report["skipped_duplicate"]) == (1, 1)
    assert Contact.objects.filter(workspace=workspace_a).count() == 14
    old = Contact.objects.get(phone="+14155550206")
    expected = ("New 6", ["vip", "lead"]) if mode == "upsert" else ("Old", ["vip"])
    assert (old.name, old.tags) == expected
    assert members.members.count() == 14  # every valid row's contact, created or not
    assert ContactImportRejection.objects.filter(report_id=report["id"]).count() == 2
