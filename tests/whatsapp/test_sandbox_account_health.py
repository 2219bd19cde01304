"""The sandbox's account-health controls: what GET /{phone-number-id} reports, and any of
Meta's account, number and template events posted as a signed webhook."""

import asyncio
import time

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


async def test_the_number_reports_what_the_control_set(aiohttp_client, receiver):
    client = await aiohttp_client(make_app(webhook_config(receiver.url)))
    fields = "throughput,quality_rating,whatsapp_business_manager_messaging_limit"
    before = await (
        await client.get(f"/v23.0/{PHONE_NUMBER_ID}?fields={fields}", headers=AUTH)
    ).json()  # noqa: E501
    assert before["whatsapp_business_manager_messaging_limit"] == "TIER_UNLIMITED"
    answer = await client.post(
        "/__sandbox/number",
        json={"quality_rating": "red", "throughput": "HIGH", "messaging_limit": "TIER_10K"},
    )
    assert answer.status == 200
    after = await (
        await client.get(f"/v23.0/{PHONE_NUMBER_ID}?fields={fields}", headers=AUTH)
    ).json()  # noqa: E501
    assert after["quality_rating"] == "RED"
    assert after["throughput"] == {"level": "HIGH"}
    assert after["whatsapp_business_manager_messaging_limit"] == "TIER_10K"
    refused = await client.post("/__sandbox/number", json={"throughput": "WARP"})
    assert refused.status == 400
    await client.post("/__sandbox/reset")
    reset = await (
        await client.get(f"/v23.0/{PHONE_NUMBER_ID}?fields={fields}", headers=AUTH)
    ).json()  # noqa: E501
    assert reset["whatsapp_business_manager_messaging_limit"] == "TIER_UNLIMITED"


async def test_an_account_event_is_posted_signed_in_meta_s_envelope(aiohttp_client, receiver):
    client = await aiohttp_client(make_app(webhook_config(receiver.url)))
    value = {
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [
            {
                "restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                "expiration": int(time.time()) + 3600,
            }
        ],
    }  # noqa: E501
    answer = await client.post(
        "/__sandbox/account_event",
        json={"field": "account_update", "value": value, "waba_id": "4242"},
    )
    assert answer.status == 200
    for _ in range(300):
        if receiver.posts:
            break
        await asyncio.sleep(0.01)
    post = receiver.posts[0]
    assert post["signature_ok"]
    entry = post["json"]["entry"][0]
    assert entry["id"] == "4242"
    assert entry["changes"] == [{"value": value, "field": "account_update"}]
    assert abs(entry["time"] - time.time()) < 60

    for bad in ({"field": "nope", "value": {}}, {"field": "account_update", "value": [1]}):
        assert (await client.post("/__sandbox/account_event", json=bad)).status == 400


async def test_template_pacing_holds_sends_until_a_release_delivers_or_drops_them(
    aiohttp_client, receiver
):
    client = await aiohttp_client(make_app(webhook_config(receiver.url, read_share=0.0)))
    assert (
        await client.post("/__sandbox/templates/delivery_window/pace", json={"hold": 2})
    ).status == 200  # noqa: E501
    wamids = []
    for i in range(3):
        resp = await client.post(
            MESSAGES, json=delivery_window(to=f"+4477009001{i:02d}"), headers=AUTH
        )  # noqa: E501
        message = (await resp.json())["messages"][0]
        wamids.append((message["id"], message["message_status"]))
    assert [status for _, status in wamids] == [
        "held_for_quality_assessment",
        "held_for_quality_assessment",
        "accepted",  # only the first two were held
    ]
    await wait_until(lambda: receiver.statuses_of(wamids[2][0]) == ["sent", "delivered"])
    assert receiver.statuses_of(wamids[0][0]) == []  # held: no webhook yet

    released = await client.post(
        "/__sandbox/templates/delivery_window/release", json={"outcome": "drop"}
    )  # noqa: E501
    assert (await released.json())["released"] == 2
    await wait_until(lambda: receiver.statuses_of(wamids[0][0]) == ["failed"])
    failed = next(
        s
        for post in receiver.posts
        for e in post["json"]["entry"]
        for c in e["changes"]
        for s in c["value"].get("statuses", [])
        if s["id"] == wamids[0][0]
    )
    assert failed["errors"][0]["code"] == 132015
    bad = await client.post("/__sandbox/templates/delivery_window/release", json={"outcome": "x"})
    assert bad.status == 400
