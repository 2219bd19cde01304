"""`POST /{phone_number_id}/marketing_messages` on the sandbox: the Marketing Messages API's
body, its refusals, the onboarding control, and what the sandbox remembers per path."""

import pytest
import pytest_asyncio

from whatsapp.sandbox import SandboxConfig, make_app

from .test_sandbox_send import VALID_SENDS
from .test_sandbox_support import (
    AUTH,
    MESSAGES,
    PHONE_NUMBER_ID,
    delivery_window,
    template_send,
)

pytestmark = pytest.mark.asyncio

MARKETING = f"/v25.0/{PHONE_NUMBER_ID}/marketing_messages"


@pytest_asyncio.fixture
async def client(aiohttp_client):
    return await aiohttp_client(make_app(SandboxConfig(webhooks=False, mps=1000)))


def cart(to="+447700900123", **extra) -> dict:
    """A valid send of the MARKETING template cart_reminder_v2."""
    body = template_send("cart_reminder_v2", "en", VALID_SENDS["cart_reminder_v2/en"], to=to)
    return {**body, **extra}


async def post(client, body, path=MARKETING):
    resp = await client.post(path, json=body, headers=AUTH)
    return resp.status, await resp.json()


async def refused(client, body, code: int, http: int = 400) -> str:
    status, payload = await post(client, body)
    assert status == http, payload
    assert payload["error"]["code"] == code, payload
    assert payload["error"]["message"].startswith(f"(#{code}) ")
    return payload["error"]["error_data"]["details"]


async def stats(client, **params) -> dict:
    return await (await client.get("/__sandbox/stats", params=params)).json()


async def test_a_marketing_template_is_accepted_and_remembered_with_its_fields(client):
    body = cart(product_policy="STRICT", message_activity_sharing=False)
    status, answer = await post(client, body)
    assert status == 200, answer
    assert answer["messages"][0]["id"].startswith("wamid.")
    assert answer["messages"][0]["message_status"] == "accepted"
    seen = (await stats(client, recipient="+447700900123"))["recipient"]
    assert seen["accepted"] == 1
    assert seen["marketing_messages"] == {
        "accepted": 1,
        "product_policy": "STRICT",
        "message_activity_sharing": False,
    }


async def test_the_unversioned_path_and_both_fields_left_out_are_accepted(client):
    status, answer = await post(client, cart(), path=f"/{PHONE_NUMBER_ID}/marketing_messages")
    assert status == 200, answer
    seen = (await stats(client, recipient="+447700900123"))["recipient"]["marketing_messages"]
    assert seen == {"accepted": 1, "product_policy": None, "message_activity_sharing": None}


async def test_stats_count_the_sends_of_each_path(client):
    await post(client, cart(product_policy="CLOUD_API_FALLBACK"))
    await post(client, delivery_window(), path=MESSAGES)
    await post(client, delivery_window(to="+447700900124"), path=MESSAGES)
    out = await stats(client)
    assert out["accepted_total"] == 3
    assert out["accepted_by_path"] == {"messages": 2, "marketing_messages": 1}
    # a /messages send leaves nothing on the marketing side
    seen = (await stats(client, recipient="+447700900124"))["recipient"]
    assert seen == {"wa_id": "447700900124", "accepted": 1}


@pytest.mark.parametrize("policy", ["strict", "FALLBACK", "", 1, ["STRICT"]])
async def test_a_bad_product_policy_is_100(client, policy):
    details = await refused(client, cart(product_policy=policy), 100)
    assert "product_policy" in details


@pytest.mark.parametrize("sharing", ["true", 1, 0, "no", []])
async def test_a_non_boolean_activity_sharing_is_100(client, sharing):
    details = await refused(client, cart(message_activity_sharing=sharing), 100)
    assert "message_activity_sharing" in details


@pytest.mark.parametrize(
    "key", ["delivery_window/en_US", "appointment_confirmed/en_GB", "login_code/en_US"]
)  # two UTILITY templates (positional, named) and an AUTHENTICATION one
async def test_a_template_that_is_not_marketing_is_131055(client, key):
    name, language = key.split("/")
    components = delivery_window()["template"]["components"] if name == "delivery_window" else None
    body = template_send(name, language, components or VALID_SENDS[key])
    details = await refused(client, {**body, "product_policy": "STRICT"}, 131055)
    assert "only marketing templates" in details
    # the same body on /messages is fine
    status, _ = await post(client, body, path=MESSAGES)
    assert status == 200
    assert (await stats(client))["accepted_by_path"]["marketing_messages"] == 0


async def test_a_number_not_onboarded_is_134100_until_it_is_again(client):
    answer = await client.post("/__sandbox/number", json={"marketing_messages_onboarded": False})
    assert answer.status == 200
    assert (await answer.json())["marketing_messages_onboarded"] is False
    details = await refused(client, cart(), 134100)
    assert "Marketing Messages API" in details
    # /messages is not affected
    status, _ = await post(client, cart(), path=MESSAGES)
    assert status == 200
    await client.post("/__sandbox/number", json={"marketing_messages_onboarded": True})
    status, _ = await post(client, cart())
    assert status == 200


async def test_reset_onboards_the_number_again(client):
    await client.post("/__sandbox/number", json={"marketing_messages_onboarded": False})
    await client.post("/__sandbox/reset")
    status, _ = await post(client, cart())
    assert status == 200


async def test_the_onboarding_control_takes_a_boolean_only(client):
    answer = await client.post("/__sandbox/number", json={"marketing_messages_onboarded": "no"})
    assert answer.status == 400
    assert "marketing_messages_onboarded" in (await answer.json())["error"]


async def test_the_usual_checks_still_apply_on_the_marketing_path(client):
    body = cart()
    body["template"]["name"] = "no_such_template"
    await refused(client, body, 132001)
    await refused(client, {**cart(), "messaging_product": "sms"}, 100)
