"""`POST /__sandbox/templates/{name}/status` and `POST /__sandbox/inbound`: the catalogue
changes and the webhooks they post."""

import pytest

from whatsapp.sandbox import make_app

from .test_sandbox_support import (
    AUTH,
    MESSAGES,
    PHONE_NUMBER_ID,
    delivery_window,
    wait_until,
    webhook_config,
)

pytestmark = pytest.mark.asyncio


@pytest.fixture
def sandbox(aiohttp_client, receiver):
    async def start(**overrides):
        return await aiohttp_client(make_app(webhook_config(receiver.url, **overrides)))

    return start


async def send(client, body) -> str:
    resp = await client.post(MESSAGES, json=body, headers=AUTH)
    payload = await resp.json()
    assert resp.status == 200, payload
    return payload["messages"][0]["id"]


def entry_ids(receiver) -> set[str]:
    return {entry["id"] for post in receiver.posts for entry in post["json"]["entry"]}


async def test_template_status_change_updates_catalogue_and_posts_webhook(sandbox, receiver):
    client = await sandbox()
    await client.get("/v25.0/301/message_templates", headers=AUTH)
    await client.get("/v25.0/302/message_templates", headers=AUTH)
    resp = await client.post(
        "/__sandbox/templates/delivery_window/status",
        json={"status": "PAUSED", "language": "en_US"},
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["templates"] == [{
        "id": "1402938475610021", "name": "delivery_window", "language": "en_US",
        "status": "PAUSED", "previous_status": "APPROVED",
    }]  # fmt: skip
    resp = await client.post(MESSAGES, json=delivery_window(), headers=AUTH)
    assert (await resp.json())["error"]["code"] == 132015
    listed = await (
        await client.get("/v25.0/301/message_templates", params={"status": "PAUSED"}, headers=AUTH)
    ).json()
    assert {(t["name"], t["language"]) for t in listed["data"]} == {
        ("delivery_window", "en_US"),
        ("winter_coupon", "es_MX"),
    }

    await wait_until(lambda: len(receiver.changes("message_template_status_update")) == 2)
    assert entry_ids(receiver) == {"301", "302"}  # every WABA that listed templates
    post = receiver.posts[0]
    assert post["signature_ok"]
    [entry] = post["json"]["entry"]
    assert isinstance(entry["time"], int)
    value = entry["changes"][0]["value"]
    assert value["event"] == "PAUSED"
    assert value["message_template_id"] == 1402938475610021
    assert value["message_template_name"] == "delivery_window"
    assert value["message_template_language"] == "en_US"
    assert value["message_template_category"] == "UTILITY"
    assert value["other_info"]["title"] == "FIRST_PAUSE"

    resp = await client.post(
        "/__sandbox/templates/delivery_window/status",
        json={"status": "REINSTATED", "language": "en_US", "waba_id": "301"},
    )
    assert (await resp.json())["templates"][0]["status"] == "APPROVED"
    await wait_until(lambda: len(receiver.changes("message_template_status_update")) == 3)
    value = receiver.changes("message_template_status_update")[-1]["value"]
    assert value["event"] == "REINSTATED"
    assert value["other_info"]["title"] == "UNPAUSE"
    resp = await client.post(MESSAGES, json=delivery_window(), headers=AUTH)
    assert resp.status == 200


async def test_template_status_endpoint_rejects_bad_input(sandbox):
    client = await sandbox()
    resp = await client.post("/__sandbox/templates/nope/status", json={"status": "PAUSED"})
    assert resp.status == 404
    resp = await client.post("/__sandbox/templates/delivery_window/status", json={"status": "X"})
    assert resp.status == 400


async def test_inbound_stop_text_posts_a_messages_webhook(sandbox, receiver):
    client = await sandbox()
    resp = await client.post(
        "/__sandbox/inbound",
        json={"from": "+447700900123", "text": "STOP", "phone_number_id": "555", "name": "Priya"},
    )
    assert resp.status == 200
    await wait_until(lambda: receiver.posts)
    post = receiver.posts[0]
    assert post["signature_ok"]
    value = post["json"]["entry"][0]["changes"][0]["value"]
    assert value["metadata"]["phone_number_id"] == "555"
    assert value["contacts"] == [{"profile": {"name": "Priya"}, "wa_id": "447700900123"}]
    [message] = value["messages"]
    assert message["from"] == "447700900123"
    assert message["type"] == "text"
    assert message["text"] == {"body": "STOP"}
    assert message["id"].startswith("wamid.")
    assert message["timestamp"].isdigit()


async def test_inbound_quick_reply_carries_context_and_payload(sandbox, receiver):
    client = await sandbox(read_share=0.0)
    wamid = await send(client, delivery_window())
    await client.post(
        "/__sandbox/inbound",
        json={
            "from": "+447700900123",
            "button": {"payload": "OPTOUT:camp417", "text": "Stop promotions"},
            "context_wamid": wamid,
        },
    )
    await wait_until(lambda: receiver.changes("messages") and any(
        "messages" in c["value"] for c in receiver.changes("messages")
    ))  # fmt: skip
    value = next(c["value"] for c in receiver.changes("messages") if "messages" in c["value"])
    assert value["metadata"]["phone_number_id"] == PHONE_NUMBER_ID  # the last sender's number
    [message] = value["messages"]
    assert message["type"] == "button"
    assert message["button"] == {"payload": "OPTOUT:camp417", "text": "Stop promotions"}
    assert message["context"] == {"from": "15550783881", "id": wamid}


async def test_inbound_preference_posts_user_preferences(sandbox, receiver):
    client = await sandbox()
    resp = await client.post(
        "/__sandbox/inbound",
        json={"from": "+447700900123", "preference": "stop", "phone_number_id": "555"},
    )
    assert resp.status == 200
    await wait_until(lambda: receiver.changes("user_preferences"))
    [pref] = receiver.changes("user_preferences")[0]["value"]["user_preferences"]
    assert pref["wa_id"] == "447700900123"
    assert pref["value"] == "stop"
    assert pref["category"] == "marketing_messages"
    assert isinstance(pref["timestamp"], int)


async def test_inbound_rejects_bad_input(sandbox):
    client = await sandbox()
    resp = await client.post("/__sandbox/inbound", json={"from": "nobody", "text": "hi"})
    assert resp.status == 400
    resp = await client.post("/__sandbox/inbound", json={"from": "+447700900123", "text": "hi"})
    assert resp.status == 400  # no phone number id known yet
