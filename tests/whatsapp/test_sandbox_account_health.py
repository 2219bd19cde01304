"""The sandbox's account-health controls: what GET /{phone-number-id} reports, and any of
Meta's account, number and template events posted as a signed webhook."""

import asyncio
import time

import pytest
import pytest_asyncio

from whatsapp.sandbox import make_app

from .test_sandbox_support import AUTH, PHONE_NUMBER_ID, start_receiver, webhook_config

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def receiver(aiohttp_server):
    return await start_receiver(aiohttp_server)


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
