"""The whole product in a browser: create a campaign, preview and import a spreadsheet, send
it, and watch the figures move live — web server, Celery worker and sandbox all real."""

import uuid

import pytest
from django.conf import settings

from config.celery import app as celery_app

from ..campaigns.conftest import make_template
from ..templates_app import meta_shapes
from .browser import screenshot
from .processes import Worker
from .test_dashboard_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSV = (
    "\n".join(
        ["country_code,phone_number,body_param_1,body_param_2,body_param_3,body_param_4"]
        + [f"+1,41555501{i:02d},Ana,PK-{i},tomorrow,9-12" for i in range(30)]
        + ["+1,12,Bad,PK-X,today,1-2", "+1,4155550100,Dup,PK-Y,today,1-2"]
    )
    + "\n"
)


@pytest.fixture
def worker(sandbox, settings):
    queue = f"e2e-{uuid.uuid4().hex[:10]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE = queue
    process = Worker(queue)
    yield process
    process.stop()
    celery_app.conf.task_default_queue = previous


def test_create_preview_import_send_and_watch(
    page, live_server, owner, workspace_a, worker, sandbox, tmp_path
):
    make_template(workspace_a, meta_shapes.DELIVERY_WINDOW)
    log_in(page, live_server)
    page.click("text=New campaign")
    page.fill("#id_name", "Parcel notices")
    page.click("button:has-text('Create draft')")
    page.wait_for_selector("h1:has-text('Parcel notices')")

    csv_file = tmp_path / "recipients.csv"
    csv_file.write_text(CSV)
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#import-preview")
    preview = page.inner_text("#import-preview")
    assert "30 ready to import" in preview
    assert "1 rejected" in preview
    assert "1 duplicates" in preview
    assert "Hi Ana, your parcel PK-0 arrives tomorrow between 9-12." in preview
    assert "too short" in preview
    screenshot(page, "import-preview")

    page.click("button:has-text('Import 30 recipients')")
    page.wait_for_selector("text=Imported 30 recipients")
    assert page.inner_text("[data-field=total_recipients]") == "30"

    page.fill("input[name=rate_limit]", "10")
    page.click("button:has-text('Send now')")
    page.wait_for_selector("[data-field=status]:has-text('Running')")
    # the figures move without a reload while the worker sends at 10 msg/s
    page.wait_for_function(
        "() => +document.querySelector('[data-field=sent]').textContent >= 5", timeout=20_000
    )
    screenshot(page, "campaign-running")
    page.wait_for_selector("[data-field=status]:has-text('Completed')", timeout=30_000)
    assert page.inner_text("[data-field=sent]") == "30"
    assert sandbox.stats()["accepted_total"] == 30
    screenshot(page, "campaign-completed")
    assert sandbox.url == settings.WHATSAPP_GRAPH_URL
