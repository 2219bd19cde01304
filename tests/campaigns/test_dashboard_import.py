"""The dashboard's preview-then-confirm import of a large file, checked in the background."""

import re
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from campaigns.models import Recipient
from campaigns.tasks import import_file

pytestmark = pytest.mark.django_db

HEADER = "country_code,phone_number,body_param_1,body_param_2,body_param_3,body_param_4"


def import_button(html: str) -> str:
    found = re.search(r"<button[^>]*>(Import \d+ recipients|Checking the file…)</button>", html)
    return found.group(0)


def test_a_large_file_is_checked_in_the_background_before_it_can_be_imported(
    client, owner, campaign_a, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_BYTES = 100
    settings.MEDIA_ROOT = tmp_path
    client.force_login(owner)
    rows = [f"+1,41555501{i:02d},Ana,PK-{i},today,9-12" for i in range(30)] + ["+1,12,X,Y,Z,W"]
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    page = f"/campaigns/{campaign_a.pk}/"

    with django_capture_on_commit_callbacks(execute=False) as checks:
        client.post(f"{page}upload/", {"file": SimpleUploadedFile("big.csv", content)}, follow=True)
    waiting = client.get(page).content.decode()
    assert "being checked in the background" in waiting
    assert "disabled" in import_button(waiting)  # nothing to confirm before the report
    assert "Checking the file…" in import_button(waiting)
    assert not Recipient.objects.filter(campaign=campaign_a).exists()

    import_file(*checks[0].args)  # the worker runs the check (a dry run)
    ready = client.get(page).content.decode()
    assert "being checked" not in ready
    assert "<strong>30</strong> ready to import" in ready
    assert "1 rejected" in ready
    assert "disabled" not in import_button(ready)
    assert not Recipient.objects.filter(campaign=campaign_a).exists()  # still only checked

    with django_capture_on_commit_callbacks(execute=False) as imports:
        client.post(f"{page}upload/confirm/", follow=True)
    import_file(*imports[0].args)
    assert Recipient.objects.filter(campaign=campaign_a).count() == 30


def test_a_large_file_refused_by_the_check_says_why_and_offers_no_import(
    client, owner, campaign_a, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.IMPORT_ASYNC_BYTES = 10
    settings.MEDIA_ROOT = tmp_path
    client.force_login(owner)
    content = b"country_code,body_param_1\n+1,Ana\n+1,Bob\n"  # no phone_number column
    with django_capture_on_commit_callbacks(execute=False) as checks:
        client.post(
            f"/campaigns/{campaign_a.pk}/upload/", {"file": SimpleUploadedFile("x.csv", content)}
        )
    import_file(*checks[0].args)
    html = client.get(f"/campaigns/{campaign_a.pk}/").content.decode()
    assert "cannot be imported" in html
    assert "phone_number" in html
    assert "disabled" in import_button(html)


@pytest.mark.django_db(transaction=True)
def test_a_large_file_shows_its_first_screen_while_the_check_runs(
    client, owner, campaign_a, settings, tmp_path, monkeypatch
):
    """The background check publishes what it found so far: the polled preview shows the
    counts, the first rejected rows and the first messages long before the file is done, then
    the whole report (and stops polling)."""
    settings.IMPORT_ASYNC_BYTES = 100
    settings.MEDIA_ROOT = tmp_path
    queued = []  # the broker is the boundary: the test runs the task itself, in a thread
    monkeypatch.setattr(import_file, "delay", lambda *args: queued.append(args))
    client.force_login(owner)
    rows = ["+1,12,Bad,Row,Z,W"] + [f"+1,4155{i:06d},Ana,PK-{i},today,9-12" for i in range(150_000)]
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    client.post(
        f"/campaigns/{campaign_a.pk}/upload/", {"file": SimpleUploadedFile("big.csv", content)}
    )
    fragment = f"/campaigns/{campaign_a.pk}/upload/preview/"
    starting = client.get(fragment).content.decode()
    assert "Starting…" in starting
    assert 'hx-trigger="every 1s"' in starting

    def work():
        try:
            import_file(*queued[0])
        finally:
            connections.close_all()  # the thread's own connection

    worker = threading.Thread(target=work)
    worker.start()
    try:
        first = running = None
        report_url = f"/api/v1/campaigns/{campaign_a.pk}/imports/{queued[0][0]}/"
        while worker.is_alive() and first is None:
            html = client.get(fragment).content.decode()
            if "So far, of the first" in html:
                first = html
                running = client.get(report_url).json()  # the API's report, mid-check
            time.sleep(0.01)
    finally:
        worker.join(timeout=120)
    assert first is not None, "no first screen while the check ran"
    assert 'hx-trigger="every 1s"' in first  # still checking: the page keeps polling
    rows_so_far = int(re.search(r"So far, of the first <strong>(\d+)</strong>", first).group(1))
    assert 0 < rows_so_far < 150_001
    assert 'class="bubble"' in first
    assert "+14155000000" in first  # the first message
    assert "<td>2</td><td>phone_number</td>" in first  # the first rejected row (line 2)
    assert "disabled" in import_button(first)
    assert running["status"] in ("running", "completed")
    if running["status"] == "running":  # the figures so far (unless it finished in between)
        assert 0 < running["progress_rows"] == running["rows_read"] < 150_001
        assert running["rejected_rows"][0]["line"] == 2
        assert running["preview"][0]["phone"] == "+14155000000"

    done = client.get(fragment).content.decode()
    assert "hx-trigger" not in done
    assert "<strong>150000</strong> ready to import" in done
    assert "disabled" not in import_button(done)
    assert not Recipient.objects.filter(campaign=campaign_a).exists()  # a check imports nothing
