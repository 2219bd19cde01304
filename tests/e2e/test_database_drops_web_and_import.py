"""PostgreSQL connections of the web server and of an import terminated (issue 18): the web
server (gunicorn, as production runs it) answers the next requests on new connections; an
import whose connection dies mid-way is rolled back and run again from the start, so it
imports every row once, and its report says completed."""

import time
import urllib.request

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from campaigns.models import ImportReport, Recipient
from campaigns.tracking.counters import counts_from_recipients, stored_counts

from .processes import WebServer, Worker
from .test_crash_recovery import (  # noqa: F401  (queue: the fixture)
    draft_with_recipients,
    queue,
    wait_for,
)
from .test_database_drops import terminate_connections_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("terminating connections is PostgreSQL's")


def test_the_web_server_answers_on_new_connections_after_its_own_are_terminated(workspace_a, owner):
    from rest_framework_simplejwt.tokens import RefreshToken

    campaign = draft_with_recipients(workspace_a, 5)
    token = str(RefreshToken.for_user(owner).access_token)
    application = "web-under-test"
    server = WebServer(PGAPPNAME=application)

    def get(path: str) -> int:
        request = urllib.request.Request(
            f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        server.wait_ready()
        paths = ["/api/v1/campaigns/", f"/api/v1/campaigns/{campaign.pk}/"]
        assert [get(p) for p in paths * 4] == [200] * 8  # persistent connections now open
        for _ in range(3):
            assert terminate_connections_of(application) >= 1
            # Every request after the drop is answered: Django checks a kept connection
            # before using it (CONN_HEALTH_CHECKS) and opens a new one.
            assert [get(p) for p in paths * 4] == [200] * 8, server.output()
    finally:
        server.stop()


def _import_with_its_connection_dropped(
    api, *, url, content, name, report_model, application, queue_name
):
    """Upload `content` to `url` (a worker's import: IMPORT_ASYNC_BYTES is tiny), terminate
    the worker's connections mid-import, wait for the report's end; (report, worker log)."""
    worker = Worker(queue_name, PGAPPNAME=application, IMPORT_ASYNC_BYTES="1024")
    try:
        answer = api.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart")
        assert answer.status_code == 202, answer.json()
        report = report_model.objects.get(pk=answer.json()["id"])

        def running():
            report.refresh_from_db()
            return report.status == "running"

        wait_for(running, 60, "the import to start")
        time.sleep(0.5)  # mid-way: rows are being read, validated and copied
        assert terminate_connections_of(application) >= 1

        def finished():
            report.refresh_from_db()
            return report.status in ("completed", "failed")

        wait_for(finished, 120, "the import to finish")
    finally:
        log = worker.output()
        worker.stop()
    assert report.status == "completed", (report.error, log)
    assert "import retried: database lost" in log  # the connection did die mid-import
    return report, log


def test_an_import_whose_connection_dies_is_run_again_and_imports_every_row_once(
    owner_api,
    workspace_a,
    settings,
    queue,  # noqa: F811
):
    settings.IMPORT_ASYNC_BYTES = 1024  # the file goes to a worker, as a large one would
    campaign = draft_with_recipients(workspace_a, 0, status="draft")
    n = 300_000
    lines = ["country_code,phone_number,body_param_1,body_param_2,body_param_3,body_param_4"]
    lines += [f"+44,7911{i:06d},Ana,PK-{i},today,9-12" for i in range(n)]
    report, _ = _import_with_its_connection_dropped(
        owner_api,
        url=f"/api/v1/campaigns/{campaign.pk}/recipients/",
        content=("\n".join(lines) + "\n").encode(),
        name="big.csv",
        report_model=ImportReport,
        application=f"import-{queue}",
        queue_name=queue,
    )
    assert (report.rows_read, report.imported, report.rejected) == (n, n, 0)
    assert Recipient.objects.filter(campaign=campaign).count() == n
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)


def test_a_contacts_import_whose_connection_dies_is_run_again_and_imports_every_row_once(
    owner_api,
    workspace_a,
    settings,
    queue,  # noqa: F811
):
    from campaigns.models import Contact, ContactImport

    settings.IMPORT_ASYNC_BYTES = 1024
    n = 200_000
    lines = ["country_code,phone_number,name,tags,city"]
    lines += [f"+44,7911{i:06d},Ana {i},vip,Pune" for i in range(n)]
    report, _ = _import_with_its_connection_dropped(
        owner_api,
        url="/api/v1/contacts/import/",
        content=("\n".join(lines) + "\n").encode(),
        name="people.csv",
        report_model=ContactImport,
        application=f"contacts-import-{queue}",
        queue_name=queue,
    )
    assert (report.rows_read, report.created, report.rejected) == (n, n, 0)
    assert Contact.objects.filter(workspace=workspace_a).count() == n
