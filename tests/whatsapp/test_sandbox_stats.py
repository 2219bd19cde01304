"""`/__sandbox/stats`, `/__sandbox/reset` and `/__sandbox/health`."""

import pytest
import pytest_asyncio

from whatsapp.sandbox import SandboxConfig, make_app

from .test_sandbox_support import AUTH, MESSAGES, delivery_window

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def client(aiohttp_client):
    return await aiohttp_client(make_app(SandboxConfig(webhooks=False)))


async def send(client, body) -> int:
    resp = await client.post(MESSAGES, json=body, headers=AUTH)
    await resp.read()
    return resp.status


async def stats(client, **params) -> dict:
    resp = await client.get("/__sandbox/stats", params=params)
    assert resp.status == 200
    return await resp.json()


async def test_counts_accepted_unique_and_duplicate_sends(client):
    assert await send(client, delivery_window(to="+447700900123", callback="c=1;r=1")) == 200
    assert await send(client, delivery_window(to="+44 7700 900123", callback="c=1;r=1")) == 200
    assert await send(client, delivery_window(to="+447700900123", callback="c=1;r=2")) == 200
    assert await send(client, delivery_window(to="+447700900124", callback="c=1;r=1")) == 200
    assert await send(client, delivery_window(to="+447700900125")) == 200
    body = await stats(client)
    assert body["accepted_total"] == 5
    assert body["unique_recipients"] == 3
    assert body["duplicate_sends"] == 1  # same recipient AND same callback data
    assert body["duplicate_examples"] == [
        {"recipient_id": "447700900123", "biz_opaque_callback_data": "c=1;r=1"}
    ]
    assert body["duplicate_examples_capped"] is False
    assert body["sends_without_callback_data"] == 1
    assert body["accepted_by_phone_number_id"] == {"106540352242922": 5}
    assert "per_recipient" not in body  # only when asked for


async def test_per_recipient_counts_on_request(client):
    for _ in range(3):
        await send(client, delivery_window(to="+447700900123"))
    await send(client, delivery_window(to="+447700900124"))
    body = await stats(client, recipient="+44 7700 900123")
    assert body["recipient"] == {"wa_id": "447700900123", "accepted": 3}
    body = await stats(client, recipient="+15550000000")
    assert body["recipient"]["accepted"] == 0
    body = await stats(client, detail="1")
    assert body["per_recipient"] == {"447700900123": 3, "447700900124": 1}
    resp = await client.get("/__sandbox/stats", params={"recipient": "abc"})
    assert resp.status == 400


async def test_rejections_by_code(client):
    bad = delivery_window()
    bad["template"]["name"] = "missing"
    await send(client, bad)
    await send(client, bad)
    await send(client, delivery_window(to="+15550109904"))
    resp = await client.post(MESSAGES, json=delivery_window())  # no token
    await resp.read()
    body = await stats(client)
    assert body["rejected_by_code"] == {"190": 1, "131050": 1, "132001": 2}
    assert body["rejected_total"] == 4
    assert body["accepted_total"] == 0
    assert body["throttled"] == 0


async def test_timeline_of_accepted_sends(client):
    await send(client, delivery_window())
    body = await stats(client, timeline="1")
    assert sum(body["accepted_by_second"].values()) == 1


async def test_reset_clears_state_and_restores_the_catalogue(client):
    await send(client, delivery_window(callback="x"))
    await send(client, delivery_window(callback="x"))
    await send(client, delivery_window(to="+15550109905"))  # transient failure, remembered
    await client.post("/__sandbox/templates/delivery_window/status", json={"status": "PAUSED"})
    assert await send(client, delivery_window()) == 400

    resp = await client.post("/__sandbox/reset")
    assert resp.status == 200
    body = await stats(client)
    assert body["accepted_total"] == body["duplicate_sends"] == body["rejected_total"] == 0
    assert body["unique_recipients"] == 0
    assert await send(client, delivery_window()) == 200  # APPROVED again
    assert await send(client, delivery_window(to="+15550109905")) == 500  # fails afresh


async def test_health(client):
    resp = await client.get("/__sandbox/health")
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["mps"] == 80
    assert body["webhooks"] is False
    assert body["templates"] >= 8
