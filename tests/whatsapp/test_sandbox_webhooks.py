"""The sandbox's status webhooks: signed, failed, batched, duplicated, reordered, retried."""

import asyncio
import hashlib
import hmac
import time

import pytest

from whatsapp.sandbox import make_app
from whatsapp.sandbox.config import DEFAULT_WABA_ID

from .test_sandbox_support import (
    AUTH,
    MESSAGES,
    PHONE_NUMBER_ID,
    SECRET,
    body_params,
    delivery_window,
    template_send,
    wait_until,
    webhook_config,
)

pytestmark = pytest.mark.asyncio


@pytest.fixture
def sandbox(aiohttp_client, receiver):
    async def start(**overrides):
        return await aiohttp_client(make_app(webhook_config(receiver.url, **overrides)))

    return start


async def send(client, body, path=MESSAGES) -> str:
    resp = await client.post(path, json=body, headers=AUTH)
    payload = await resp.json()
    assert resp.status == 200, payload
    return payload["messages"][0]["id"]


async def stats(client) -> dict:
    return await (await client.get("/__sandbox/stats")).json()


async def idle(client) -> None:
    webhooks = {}

    async def check():
        nonlocal webhooks
        webhooks = (await stats(client))["webhooks"]
        return webhooks["idle"]

    deadline = time.monotonic() + 3
    while not await check():
        assert time.monotonic() < deadline, webhooks
        await asyncio.sleep(0.01)


# --- statuses ---------------------------------------------------------------------------------


async def test_signed_sent_delivered_read_in_metas_envelope(sandbox, receiver):
    client = await sandbox(read_share=1.0)
    await client.get("/v25.0/201/message_templates", headers=AUTH)  # the sandbox learns WABA 201
    wamid = await send(client, delivery_window(to="+44 7700 900123", callback="camp=1;rcpt=9"))
    await wait_until(lambda: len(receiver.statuses_of(wamid)) == 3)
    assert receiver.statuses_of(wamid) == ["sent", "delivered", "read"]
    assert all(post["signature_ok"] for post in receiver.posts)

    envelope = receiver.posts[0]["json"]
    assert envelope["object"] == "whatsapp_business_account"
    [entry] = envelope["entry"]
    assert entry["id"] == "201"
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {
        "display_phone_number": "15550783881",
        "phone_number_id": PHONE_NUMBER_ID,
    }
    by_status = {s["status"]: s for s in receiver.statuses}
    for status in by_status.values():
        assert status["id"] == wamid
        assert status["recipient_id"] == "447700900123"
        assert status["biz_opaque_callback_data"] == "camp=1;rcpt=9"
        assert isinstance(status["timestamp"], str)
        assert status["timestamp"].isdigit()
    pricing = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    assert by_status["sent"]["pricing"] == pricing
    assert by_status["delivered"]["pricing"] == pricing
    assert "pricing" not in by_status["read"]
    stamps = [int(s["timestamp"]) for s in receiver.statuses]
    assert stamps == sorted(stamps)


async def test_signature_is_hmac_of_the_raw_body(sandbox, receiver):
    client = await sandbox(read_share=0.0)
    await send(client, delivery_window())
    await wait_until(lambda: receiver.posts)
    raw = receiver.posts[0]["raw"]
    good = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    bad = hmac.new(b"another secret", raw, hashlib.sha256).hexdigest()
    assert receiver.posts[0]["signature_ok"]
    assert good != bad
    assert b"\n" not in raw  # compact JSON, as Meta posts it


async def test_marketing_pricing_and_no_callback_when_none_was_sent(sandbox, receiver):
    client = await sandbox(read_share=0.0)
    components = [
        {"type": "header", "parameters": [{"type": "text", "text": "Sam"}]},
        body_params("3", "Friday"),
        {"type": "button", "sub_type": "url", "index": 0,
         "parameters": [{"type": "text", "text": "c-1"}]},
    ]  # fmt: skip
    wamid = await send(client, template_send("cart_reminder_v2", "en", components))
    await wait_until(lambda: len(receiver.statuses_of(wamid)) == 2)
    for status in receiver.statuses:
        assert "biz_opaque_callback_data" not in status
        assert status["pricing"]["category"] == "marketing"
    assert entry_ids(receiver) == {DEFAULT_WABA_ID}


def entry_ids(receiver) -> set[str]:
    return {entry["id"] for post in receiver.posts for entry in post["json"]["entry"]}


async def test_read_share_decides_how_many_are_read(sandbox, receiver):
    client = await sandbox(read_share=0.0)
    wamids = [await send(client, delivery_window(to=f"+4477009{i:05d}")) for i in range(10)]
    await idle(client)
    assert all(receiver.statuses_of(w) == ["sent", "delivered"] for w in wamids)
    webhooks = (await stats(client))["webhooks"]
    assert webhooks["statuses_delivered"] == 20
    assert webhooks["delivered_by_status"] == {"sent": 10, "delivered": 10}
    assert webhooks["pending_statuses"] == webhooks["retrying_posts"] == 0


@pytest.mark.parametrize(("suffix", "code"), [("9902", 131026), ("9903", 131049)])
async def test_failing_numbers_get_a_failed_status_with_errors(sandbox, receiver, suffix, code):
    client = await sandbox(read_share=1.0)
    wamid = await send(client, delivery_window(to=f"+1555010{suffix}", callback="r-1"))
    await idle(client)
    assert receiver.statuses_of(wamid) == ["failed"]
    [status] = receiver.statuses
    assert status["recipient_id"] == f"1555010{suffix}"
    assert status["biz_opaque_callback_data"] == "r-1"
    assert "pricing" not in status
    [error] = status["errors"]
    assert error["code"] == code
    assert error["title"]
    assert error["message"]
    assert error["error_data"]["details"]
    assert error["href"].startswith("https://developers.facebook.com/")


@pytest.mark.parametrize(("suffix", "expected"), [
    ("9907", ["sent", "delivered"]),
    ("9908", ["sent"]),
])  # fmt: skip
async def test_numbers_that_are_never_read_or_delivered(sandbox, receiver, suffix, expected):
    client = await sandbox(read_share=1.0)
    wamid = await send(client, delivery_window(to=f"+1555010{suffix}"))
    await idle(client)
    assert receiver.statuses_of(wamid) == expected


# --- batching, duplicates, order --------------------------------------------------------------


async def test_statuses_due_together_are_batched_per_phone_number(sandbox, receiver):
    client = await sandbox(
        read_share=0.0,
        sent_delay=(0.05, 0.05),
        delivered_delay=(0.05, 0.05),
        batch_window=0.03,
        batch_max=5,
    )
    for i in range(12):
        await send(client, delivery_window(to=f"+4477009{i:05d}"))
    for i in range(3):
        await send(client, delivery_window(to=f"+4477008{i:05d}"), path="/v25.0/777/messages")
    await idle(client)
    assert len(receiver.statuses) == 30
    sizes = [len(p["json"]["entry"][0]["changes"][0]["value"]["statuses"]) for p in receiver.posts]
    assert max(sizes) == 5
    assert len(receiver.posts) <= 10  # 30 statuses, far fewer POSTs
    for post in receiver.posts:
        value = post["json"]["entry"][0]["changes"][0]["value"]
        expected = "777" if value["statuses"][0]["recipient_id"].startswith("4477008") else None
        assert value["metadata"]["phone_number_id"] == (expected or PHONE_NUMBER_ID)
        assert {s["recipient_id"][:7] for s in value["statuses"]} in ({"4477008"}, {"4477009"})


async def test_duplicates_when_enabled(sandbox, receiver):
    client = await sandbox(read_share=0.0, duplicate_rate=1.0)
    wamids = [await send(client, delivery_window(to=f"+4477009{i:05d}")) for i in range(4)]
    await idle(client)
    pairs = [(s["id"], s["status"]) for s in receiver.statuses]
    assert len(pairs) > len(set(pairs))  # some status arrived twice
    assert all(receiver.statuses_of(w).count("sent") >= 1 for w in wamids)
    raws = [p["raw"] for p in receiver.posts]
    assert len(raws) > len(set(raws))  # some POST arrived twice, byte for byte
    webhooks = (await stats(client))["webhooks"]
    assert webhooks["duplicate_posts"] > 0
    assert webhooks["duplicate_statuses"] == 4


async def test_no_duplicates_when_disabled(sandbox, receiver):
    client = await sandbox(read_share=1.0, duplicate_rate=0.0)
    for i in range(5):
        await send(client, delivery_window(to=f"+4477009{i:05d}"))
    await idle(client)
    pairs = [(s["id"], s["status"]) for s in receiver.statuses]
    assert len(pairs) == len(set(pairs)) == 15


async def test_reordering_posts_read_before_delivered(sandbox, receiver):
    client = await sandbox(
        read_share=1.0,
        reorder_rate=1.0,
        sent_delay=(0.002, 0.002),
        delivered_delay=(0.04, 0.04),
        read_delay=(0.04, 0.04),
    )
    wamid = await send(client, delivery_window())
    await idle(client)
    assert receiver.statuses_of(wamid) == ["sent", "read", "delivered"]
    by_status = {s["status"]: int(s["timestamp"]) for s in receiver.statuses}
    assert by_status["read"] >= by_status["delivered"]  # event times stay logical


# --- retries ----------------------------------------------------------------------------------


async def test_retries_with_backoff_until_the_receiver_answers_200(sandbox, receiver):
    client = await sandbox(retry_base=0.03, retry_max=1.0)
    receiver.answers = [500, 500, 500]
    wamid = await send(client, delivery_window(to="+15550109908"))  # exactly one status
    await wait_until(lambda: len(receiver.attempt_times) >= 2)
    webhooks = (await stats(client))["webhooks"]
    assert webhooks["pending_statuses"] == 1
    assert not webhooks["idle"]
    await idle(client)
    assert receiver.statuses_of(wamid) == ["sent"]  # delivered once, nothing lost
    times = receiver.attempt_times
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 3
    # Exponential, each wait at least 0.8 x 30, 60, 120 ms (jitter); a loaded machine can only
    # make a wait longer, so lower bounds (not gaps[2] > gaps[0]) are what holds everywhere.
    for attempt, gap in enumerate(gaps):
        assert gap >= 0.03 * 2**attempt * 0.8 - 0.005, gaps
    webhooks = (await stats(client))["webhooks"]
    assert webhooks["failed_attempts"] == webhooks["retries"] == 3
    assert webhooks["posts_delivered"] == 1
    assert webhooks["dropped_posts"] == 0


async def test_backoff_is_capped(sandbox, receiver):
    client = await sandbox(retry_base=0.01, retry_max=0.05)
    receiver.answers = [503] * 8
    await send(client, delivery_window(to="+15550109908"))
    await idle(client)
    times = receiver.attempt_times
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 8
    # Uncapped, the last waits would be ~0.64 s and ~1.28 s; capped, 0.05 s plus whatever
    # scheduling delay a loaded test machine adds (generous: the test is about the cap).
    assert max(gaps[-3:]) < 0.05 + 0.15


async def test_posts_are_dropped_only_after_the_max_age(sandbox, receiver):
    client = await sandbox(retry_base=0.01, retry_max=0.02, retry_max_age=0.15)
    receiver.answers = [500] * 1000
    await send(client, delivery_window(to="+15550109908"))
    await idle(client)
    webhooks = (await stats(client))["webhooks"]
    assert webhooks["dropped_statuses"] == 1
    assert len(receiver.attempt_times) >= 4


async def test_a_slow_receiver_does_not_slow_sends(sandbox, receiver):
    client = await sandbox(read_share=0.0, webhook_concurrency=2)
    receiver.delay = 0.3
    started = time.monotonic()
    for i in range(20):
        await send(client, delivery_window(to=f"+4477009{i:05d}"))
    assert time.monotonic() - started < 0.5


async def test_reset_empties_the_webhook_queue(sandbox, receiver):
    client = await sandbox(sent_delay=(0.15, 0.15))
    await send(client, delivery_window())
    assert (await stats(client))["webhooks"]["pending_statuses"] >= 2
    await client.post("/__sandbox/reset")
    await asyncio.sleep(0.3)
    assert receiver.posts == []
    webhooks = (await stats(client))["webhooks"]
    assert webhooks["pending_statuses"] == 0
    assert webhooks["idle"]
