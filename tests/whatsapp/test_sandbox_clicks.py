"""`POST /__sandbox/click`: the sandbox posts Meta's click event for a message it accepted."""

import asyncio
import hashlib
import hmac
import uuid

import pytest
from aiohttp.test_utils import TestClient, TestServer

from campaigns.models import Click, Recipient
from campaigns.tracking import campaign_recount
from webhooks.services import directory, webhook_events_drain
from webhooks.tasks import webhook_events_drain_task
from whatsapp import callback
from whatsapp.sandbox import make_app

from ..factories import CampaignFactory, RecipientFactory, WhatsAppAccountFactory
from .test_sandbox_support import (
    AUTH,
    MESSAGES,
    PHONE_NUMBER_ID,
    SECRET,
    Receiver,
    delivery_window,
    wait_until,
    webhook_config,
)

LINK = "marketing_messages_link_click"


def user_actions(receiver: Receiver) -> list[dict]:
    return [a for c in receiver.changes("messages") for a in c["value"].get("user_actions", [])]


@pytest.mark.asyncio
async def test_a_click_is_posted_with_the_messages_callback_data(aiohttp_client, receiver):
    client = await aiohttp_client(make_app(webhook_config(receiver.url)))
    sent = await client.post(MESSAGES, json=delivery_window(callback="bc1:77"), headers=AUTH)
    wamid = (await sent.json())["messages"][0]["id"]

    by_wamid = await client.post("/__sandbox/click", json={"wamid": wamid})
    by_phone = await client.post(
        "/__sandbox/click", json={"to": "+447700900123", "action_type": "landing_page_view"}
    )

    assert by_wamid.status == 200
    assert by_phone.status == 200
    await wait_until(lambda: len(user_actions(receiver)) == 2)
    click, view = sorted(user_actions(receiver), key=lambda a: a["action_type"] != LINK)
    assert click["action_type"] == LINK
    data = click[f"{LINK}_data"]
    assert data["tracking_token"] == "bc1:77"
    assert data["click_component"] == "cta"
    assert view["landing_page_view_data"]["tracking_token"] == "bc1:77"
    assert set(view["landing_page_view_data"]) == {"click_id", "tracking_token"}
    assert data["click_id"] != view["landing_page_view_data"]["click_id"]  # fresh each time
    post = next(p for p in receiver.posts if "user_actions" in str(p["json"]))
    assert post["signature_ok"]
    change = post["json"]["entry"][0]["changes"][0]
    assert change["field"] == "messages"
    assert change["value"]["metadata"]["phone_number_id"] == PHONE_NUMBER_ID


@pytest.mark.asyncio
async def test_the_click_control_refuses_what_it_cannot_click(aiohttp_client, receiver):
    client = await aiohttp_client(make_app(webhook_config(receiver.url)))
    for body, status in [
        ({}, 400),
        ({"to": "not a phone"}, 400),
        ({"wamid": "wamid.NOPE"}, 404),
        ({"to": "+447700900999"}, 404),
    ]:
        assert (await client.post("/__sandbox/click", json=body)).status == status
    assert (await client.post("/__sandbox/click", data=b"[1]")).status == 400
    quiet = await aiohttp_client(make_app())  # webhooks off
    assert (await quiet.post("/__sandbox/click", json={"wamid": "x"})).status == 409


async def _send_and_click(callback_data: str) -> tuple[bytes, str]:
    """Send one message through the sandbox, click it; the webhook's bytes and signature."""
    receiver = Receiver()
    hook = TestServer(receiver.app)
    await hook.start_server()
    receiver.url = str(hook.make_url("/hook"))
    sandbox = TestClient(TestServer(make_app(webhook_config(receiver.url, read_share=0.0))))
    await sandbox.start_server()
    try:
        await sandbox.post(MESSAGES, json=delivery_window(callback=callback_data), headers=AUTH)
        assert (await sandbox.post("/__sandbox/click", json={"to": "+447700900123"})).status == 200
        await wait_until(lambda: any(b"user_actions" in p["raw"] for p in receiver.posts))
    finally:
        await sandbox.close()
        await hook.close()
    post = next(p for p in receiver.posts if b"user_actions" in p["raw"])
    assert post["signature_ok"]
    raw = post["raw"]
    return raw, "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


@pytest.mark.django_db
def test_the_sandboxs_click_is_accepted_and_attributed_by_the_receiver(
    client, workspace_a, monkeypatch
):
    # The receiver queues a drain: no broker here (as in tests/webhooks/conftest.py).
    monkeypatch.setattr(webhook_events_drain_task, "apply_async", lambda *a, **kw: None)
    monkeypatch.setattr("webhooks.services.drain.DRAIN_FLAG", f"test:drain:{uuid.uuid4()}")
    account = WhatsAppAccountFactory(
        workspace=workspace_a, phone_number_id=PHONE_NUMBER_ID, app_secret=SECRET
    )
    campaign = CampaignFactory(template__account=account, status="running")
    r = RecipientFactory(campaign=campaign, phone="+447700900123", status="delivered")
    campaign_recount(campaign_id=campaign.pk)
    directory.clear_directory()

    body, signature = asyncio.run(_send_and_click(callback.encode(r.pk)))
    response = client.post(
        "/webhooks/whatsapp/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
    webhook_events_drain()

    assert response.status_code == 200
    stored = Click.objects.get()
    assert (stored.source, stored.action_type, stored.recipient_id) == ("meta", LINK, r.pk)
    assert Recipient.objects.get(pk=r.pk).clicked_at is not None
    campaign.refresh_from_db()
    assert campaign.clicked_count == 1
