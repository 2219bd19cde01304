"""The dashboard in a real browser: log in, see the campaigns, sync and browse templates."""

import os

import pytest

from ..factories import CampaignFactory, WhatsAppAccountFactory
from .browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; Django's ORM calls below are ours.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def log_in(page, live_server, username="alice", password="password-123"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_login_shows_only_my_campaigns(page, live_server, owner, workspace_a, workspace_b):
    CampaignFactory(name="Spring launch", template__account__workspace=workspace_a)
    CampaignFactory(name="Someone else's", template__account__workspace=workspace_b)
    log_in(page, live_server)
    page.wait_for_selector("h1:has-text('Campaigns')")
    body = page.inner_text("main")
    assert "Spring launch" in body
    assert "Someone else's" not in body
    screenshot(page, "campaign-list")


def test_wrong_password_says_so(page, live_server, owner):
    log_in(page, live_server, password="nope")
    assert "didn't match" in page.inner_text("main")
    screenshot(page, "login-error")


def test_sync_templates_from_the_dashboard(page, live_server, owner, workspace_a, sandbox):
    WhatsAppAccountFactory(workspace=workspace_a, name="Support line")
    log_in(page, live_server)
    page.click("nav >> text=Templates")
    page.wait_for_selector("text=Support line")
    assert "press “Sync templates”" in page.inner_text("main")
    page.click("button:has-text('Sync templates')")
    page.wait_for_selector(".messages li")
    text = page.inner_text("main")
    assert "Synced" in text
    assert "delivery_window" in text
    assert "winter_coupon" in text
    screenshot(page, "templates")
    # the sample download link works with the session
    with page.expect_download() as download:
        page.click("article[data-template=delivery_window] >> text=CSV")
    assert download.value.suggested_filename == "delivery_window_sample.csv"
