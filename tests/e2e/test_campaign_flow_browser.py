"""The operator's whole flow in a browser, against a live server, a Celery worker with beat
and the sandbox: read the template, upload a file with a bad row, see it refused in the
preview, schedule the send a few seconds ahead, watch the page start by itself and the
charts and cards move to completion, export the results, filter the failures, and drive
another campaign with pause, resume and stop. Then the page at a phone's width."""

import csv
import io
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from campaigns.models import Campaign
from config.celery import app as celery_app

from ..campaigns.conftest import make_template
from ..templates_app import meta_shapes
from .browser import screenshot
from .processes import Worker
from .test_dashboard_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GOOD = [f"+1,41555502{i:02d},Ana,PK-{i},tomorrow,9-12" for i in range(11)]
FAILS_AT_SEND = "+1,4155559910,Fay,PK-F,today,1-2"  # the sandbox refuses it: 131009
BAD = "+1,12,Bad,PK-X,today,1-2"
HEADER = "country_code,phone_number,body_param_1,body_param_2,body_param_3,body_param_4"


@pytest.fixture
def beat_worker(sandbox, settings):
    queue = f"e2e-{uuid.uuid4().hex[:10]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE = queue
    process = Worker(queue, beat=True)
    yield process
    process.stop()
    celery_app.conf.task_default_queue = previous


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def berlin_page(browser):
    """A browser whose clock is in Berlin: the page must show and read times there."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id="Europe/Berlin", accept_downloads=True
    )
    yield context.new_page()
    context.close()


def test_schedule_watch_export_and_control_a_campaign(
    berlin_page, live_server, owner, workspace_a, beat_worker, sandbox, tmp_path
):
    page = berlin_page
    make_template(workspace_a, meta_shapes.DELIVERY_WINDOW)
    log_in(page, live_server)

    # the template's text, its variables marked, before choosing it
    page.click("text=New campaign")
    preview = page.inner_text("#template-previews")
    assert "Hi {{1}}, your parcel {{2}} arrives {{3}} between {{4}}." in preview
    assert page.locator("#template-previews mark").count() == 4
    # the sample to fill, downloaded from the same place
    with page.expect_download() as sample:
        page.click("#template-previews a:has-text('CSV')")
    header = sample.value.path().read_text("utf-8-sig").splitlines()[0]
    assert header == HEADER
    page.fill("#id_name", "Parcel notices")
    page.click("button:has-text('Create draft')")
    page.wait_for_selector("h1:has-text('Parcel notices')")

    # upload a file with a bad row: the preview counts and explains it
    csv_file = tmp_path / "recipients.csv"
    csv_file.write_text("\n".join([HEADER, *GOOD, FAILS_AT_SEND, BAD]) + "\n")
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#import-preview")
    assert "12 ready to import" in page.inner_text("#import-preview")
    assert "1 rejected" in page.inner_text("#import-preview")
    page.click("button:has-text('Import 12 recipients')")
    page.wait_for_selector("text=Imported 12 recipients")

    # schedule it a few seconds ahead, in the operator's time zone
    berlin = timezone.now().astimezone(ZoneInfo("Europe/Berlin"))
    at = berlin + timedelta(seconds=12)
    page.fill("input[name=rate_limit]", "4")
    page.fill("input[name=send_at]", at.strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("button:has-text('Schedule')")
    page.wait_for_selector("text=Scheduled for")
    assert "CET" in page.inner_text("[data-field=send_at]") or "CEST" in page.inner_text(
        "[data-field=send_at]"
    )
    campaign = Campaign.objects.get(name="Parcel notices")
    assert abs((campaign.send_at - at).total_seconds()) < 1
    screenshot(page, "flow-scheduled")

    # it starts by itself; the charts grow; the cards settle on the final figures
    page.wait_for_selector("[data-field=status]:has-text('Running')", timeout=40_000)
    page.wait_for_function(
        "() => +(document.getElementById('charts')?.dataset.drawn || 0) >= 2", timeout=20_000
    )
    screenshot(page, "flow-running")
    page.wait_for_selector("[data-field=status]:has-text('Completed')", timeout=40_000)
    page.wait_for_function(
        "() => document.getElementById('charts')?.dataset.drawn === '11'", timeout=10_000
    )
    assert page.inner_text("[data-field=sent]") == "11"
    assert page.inner_text("[data-field=failed]") == "1"
    assert page.inner_text("[data-field=total_recipients]") == "12"
    screenshot(page, "flow-completed")

    # export the results and open the file
    with page.expect_download() as download:
        page.click(".export-form button")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8-sig"))))
    assert len(rows) == 12
    assert {r["status"] for r in rows} == {"sent", "failed"}
    assert [r["error_code"] for r in rows if r["status"] == "failed"] == ["131009"]

    # the recipients table, filtered by failed
    page.select_option("select[name=status]", "failed")
    page.click("#recipients button:has-text('Filter')")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-table=recipients] tbody tr').length === 1"
    )
    assert "131009" in page.inner_text("[data-table=recipients]")

    # a phone's width: nothing scrolls sideways
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    screenshot(page, "flow-completed-390")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 8).map((e) => e.tagName + '.' + e.className + '#' + e.id + ' ' +
        Math.round(e.getBoundingClientRect().right))""")
    assert no_sideways_scroll(page), wide
    screenshot(page, "flow-completed-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    # pause, resume and stop another campaign from its page
    page.select_option("select[name=segment]", "all")
    page.click("button:has-text('Rerun')")
    page.wait_for_selector("text=with 12 recipients")
    page.fill("input[name=rate_limit]", "1")
    page.click("button:has-text('Send now')")
    page.wait_for_selector("[data-field=status]:has-text('Running')")
    page.click("button:has-text('Pause')")
    page.wait_for_selector("[data-field=status]:has-text('Paused')")
    page.click("button:has-text('Resume')")
    page.wait_for_selector("[data-field=status]:has-text('Running')")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Stop')")
    page.wait_for_selector("[data-field=status]:has-text('Stopped')")
    screenshot(page, "flow-stopped")
    assert sandbox.url == settings.WHATSAPP_GRAPH_URL
