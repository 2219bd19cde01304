"""The template pages in a real browser, on a laptop and on a phone: the list and a detail."""

import os

import pytest

from ..factories import CampaignFactory, MessageTemplateFactory
from ..templates_app import meta_shapes
from ..templates_app.test_samples_and_api import template_from
from .browser import ARTIFACTS, screenshot
from .test_dashboard_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LONG_URL = [
    {
        "type": "BODY",
        "text": "Your order {{1}} of averyveryverylongwordthatwouldnotwrapanywhere is on its way.",
        "example": {"body_text": [["ORD-2025-000000000123"]]},
    },
    {
        "type": "BUTTONS",
        "buttons": [
            {
                "type": "URL",
                "text": "Track",
                "url": "https://tracking.example.com/a/very/long/path/for/orders/{{1}}",
                "example": ["https://tracking.example.com/a/very/long/path/for/orders/X1"],
            }
        ],
    },
]


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_template_list_and_detail_fit_the_screen(
    page, live_server, owner, workspace_a, width, height
):
    for shape in meta_shapes.ALL:
        template_from(shape, workspace_a, quality_score="GREEN")
    cart = template_from(
        meta_shapes.CART_REMINDER, workspace_a, meta_id="9", name="cart_reminder_fr", language="fr"
    )
    CampaignFactory(template=cart, name="Basket nudges")
    MessageTemplateFactory(
        account=cart.account, name="order_shipped_with_a_rather_long_name", components=LONG_URL
    )
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server)

    page.goto(f"{live_server.url}/templates/")
    page.wait_for_selector("article[data-template=cart_reminder_v2]")
    assert page.locator(".chip").count() > 5
    assert no_horizontal_scroll(page)
    screenshot(page, f"templates-list-{width}")
    page.screenshot(path=str(ARTIFACTS / f"templates-list-{width}-top.png"))  # what one sees

    page.click("article[data-template=cart_reminder_fr] >> text=Details →")
    page.wait_for_selector("h2:has-text('Campaigns using it')")
    assert "Basket nudges" in page.inner_text("main")
    assert no_horizontal_scroll(page)
    screenshot(page, f"templates-detail-{width}")
    page.screenshot(path=str(ARTIFACTS / f"templates-detail-{width}-top.png"))

    page.goto(f"{live_server.url}/templates/?q=order_shipped")
    page.click("text=Details →")
    page.wait_for_selector("h2:has-text('Variables')")
    assert no_horizontal_scroll(page)
    screenshot(page, f"templates-detail-long-{width}")


def test_admin_pages_for_operators(page, live_server, workspace_a):
    import json

    from django.contrib.auth import get_user_model

    from campaigns.models import Campaign
    from webhooks.models import WebhookEvent

    get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    campaign = CampaignFactory(template__account__workspace=workspace_a, status="running")
    Campaign.objects.filter(pk=campaign.pk).update(
        total_recipients=40, sent_count=5, delivered_count=7, read_count=13, failed_count=2
    )
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": []}]}
    event = WebhookEvent.objects.create(
        account=campaign.account, body=json.dumps(body).encode(), body_sha256="0" * 64
    )
    log_in(page, live_server, username="root", password="pw-123456")

    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.inner_text(".field-figure_sent .readonly") == "25"
    screenshot(page, "admin-campaign")
    page.click("text=View recipients")
    page.wait_for_selector("#changelist")
    page.goto(f"{live_server.url}/admin/webhooks/webhookevent/{event.pk}/change/")
    assert '"object": "whatsapp_business_account"' in page.inner_text("pre.webhook-body")
    screenshot(page, "admin-webhook-event")
