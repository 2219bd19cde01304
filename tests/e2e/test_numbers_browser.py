"""The numbers and opt-outs pages in a real browser: connect a number and test it against
the sandbox, add and remove an opt-out, and every page at a phone's width."""

import os

import pytest

from campaigns.models import OptOut
from whatsapp.models import WhatsAppAccount

from ..factories import WhatsAppAccountFactory
from .browser import ARTIFACTS, screenshot
from .test_dashboard_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_connect_a_number_and_test_the_connection(page, live_server, owner, sandbox):
    log_in(page, live_server)
    page.click("nav >> text=Numbers")
    page.wait_for_selector("h1:has-text('WhatsApp numbers')")
    page.click("text=Connect a number")
    page.fill("#id_name", "Support line")
    page.fill("#id_waba_id", "102290129340398")
    page.fill("#id_phone_number_id", "106540352242922")
    page.fill("#id_access_token", "EAAG-browser-token-1a2b")
    page.fill("#id_app_secret", "app-secret-9f8e")
    screenshot(page, "numbers-connect")
    page.click("button:has-text('Connect')")
    page.wait_for_selector("h1:has-text('Support line')")
    text = page.inner_text("main")
    assert "Connected Support line" in text
    assert "••••1a2b" in text
    assert "EAAG-browser-token-1a2b" not in page.content()
    assert page.input_value("#webhook-url") == f"{live_server.url}/webhooks/whatsapp/"
    assert len(page.input_value("#verify-token")) >= 24

    page.click("button:has-text('Test connection')")
    page.wait_for_selector("#test-result .test-result")
    result = page.inner_text("#test-result")
    assert "The connection works." in result
    assert "Broadcast Sandbox" in result
    assert page.url.endswith(f"/numbers/{WhatsAppAccount.objects.get().pk}/")  # inline, htmx
    screenshot(page, "numbers-detail")

    page.click("button.copy[data-copy='webhook-url']")
    page.wait_for_selector("button.copy[data-copy='webhook-url']:has-text('Copied')")


def test_add_and_remove_an_opt_out(page, live_server, member):
    log_in(page, live_server, username="bob")
    page.click("nav >> text=Opt-outs")
    page.wait_for_selector("h1:has-text('Opt-outs')")
    page.fill("#id_phone", "07400 12")
    page.click("button:has-text('Add')")
    page.wait_for_selector(".messages li.error")
    assert "country code missing" in page.inner_text(".messages")
    assert page.input_value("#id_phone") == "07400 12"  # what was typed is kept
    page.fill("#id_phone", "07400 123456")
    page.fill("#id_country_code", "44")
    page.click("button:has-text('Add')")
    page.wait_for_selector("text=+447400123456 is on the opt-out list")
    assert "+447400123456" in page.inner_text("#list")
    screenshot(page, "optouts")

    page.click("a[aria-label='Remove +447400123456']")
    page.wait_for_selector("h1:has-text('Remove +447400123456')")
    page.click("button:has-text('Remove from the list')")
    page.wait_for_selector("text=+447400123456 is off the opt-out list.")
    assert not OptOut.objects.exists()


def test_pages_fit_a_390px_phone(browser, live_server, owner, workspace_a):
    account = WhatsAppAccountFactory(
        workspace=workspace_a,
        name="Support line with a rather long name",
        last_error_code=131056,
        last_error_details="(#131056) Pair rate limit hit: too many messages sent from this "
        "phone number to the same phone number in a short period of time",
        state="needs_attention",
        state_reason="Template sync failed: (#190) Error validating access token: Session has "
        "expired on Tuesday, 01-Dec-26 08:00:00 PST.",
    )
    OptOut.objects.bulk_create(
        OptOut(
            workspace=workspace_a,
            phone=f"+4474001{n:05d}",
            source="keyword",
            detail="Replied 'STOP please, no more messages from you'",
        )
        for n in range(60)
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        log_in(page, live_server)
        page.wait_for_selector("h1")
        for path, name in (
            ("/numbers/", "numbers-list"),
            (f"/numbers/{account.pk}/", "numbers-detail"),
            ("/numbers/new/", "numbers-connect"),
            ("/opt-outs/", "optouts"),
            (f"/opt-outs/{OptOut.objects.first().pk}/remove/", "optouts-remove"),
        ):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_selector("h1")
            width = page.evaluate("document.documentElement.scrollWidth")
            screenshot(page, f"{name}-390")
            page.screenshot(path=str(ARTIFACTS / f"{name}-390-top.png"))  # the first screen
            assert width <= 390, f"{path} scrolls sideways: {width}px"
    finally:
        context.close()


def test_wide_screenshots(page, live_server, owner, workspace_a):
    WhatsAppAccountFactory(workspace=workspace_a, name="Support line")
    WhatsAppAccountFactory(workspace=workspace_a, name="Sales", state="needs_attention")
    OptOut.objects.create(workspace=workspace_a, phone="+447400123456", source="keyword")
    log_in(page, live_server)
    page.wait_for_selector("h1")
    page.goto(f"{live_server.url}/numbers/")
    screenshot(page, "numbers-list")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
