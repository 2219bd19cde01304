"""`POST /{phone_number_id}/messages` on the sandbox: validation, success, throughput, numbers."""

import asyncio
import copy
import time

import pytest
import pytest_asyncio

from whatsapp.sandbox import SandboxConfig, make_app

from .test_sandbox_support import (
    AUTH,
    MESSAGES,
    body_params,
    delivery_window,
    template_send,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def client(aiohttp_client):
    return await aiohttp_client(make_app(SandboxConfig(webhooks=False, mps=1000)))


async def send(client, body, headers=AUTH, path=MESSAGES):
    resp = await client.post(path, json=body, headers=headers)
    return resp.status, await resp.json()


async def expect_error(client, body, code: int, http: int = 400, headers=AUTH) -> dict:
    status, payload = await send(client, body, headers)
    assert status == http, payload
    error = payload["error"]
    assert error["code"] == code, error
    assert error["type"] == "OAuthException"
    assert error["message"].startswith(f"(#{code}) ")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"]
    assert error["fbtrace_id"]
    return error


# --- success --------------------------------------------------------------------------------


async def test_success_body_is_metas(client):
    status, body = await send(client, delivery_window(to="+44 7700-900123"))
    assert status == 200
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+44 7700-900123", "wa_id": "447700900123"}]
    [message] = body["messages"]
    assert message["id"].startswith("wamid.")
    assert message["message_status"] == "accepted"


async def test_wamids_are_unique(client):
    results = await asyncio.gather(
        *(send(client, delivery_window(to=f"+4477009{i:05d}")) for i in range(60))
    )
    wamids = {body["messages"][0]["id"] for status, body in results if status == 200}
    assert len(wamids) == 60


VALID_SENDS = {
    "cart_reminder_v2/en": [
        {"type": "header", "parameters": [{"type": "text", "text": "Sam"}]},
        body_params("3", "Friday"),
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [
            {"type": "text", "text": "c-7f3a9"}]},
    ],
    "appointment_confirmed/en_GB": [
        {"type": "body", "parameters": [
            {"type": "text", "parameter_name": "time", "text": "14:30"},
            {"type": "text", "parameter_name": "first_name", "text": "Leo"},
            {"type": "text", "parameter_name": "service", "text": "eye test"},
            {"type": "text", "parameter_name": "date", "text": "12 Dec"},
        ]},
    ],
    "spring_coupon/en_US": [
        {"type": "header", "parameters": [{"type": "image", "image": {"id": "1479304862211047"}}]},
        body_params("SPRING25", "25%"),
        {"type": "button", "sub_type": "copy_code", "index": 0, "parameters": [
            {"type": "coupon_code", "coupon_code": "SPRING25"}]},
        {"type": "button", "sub_type": "quick_reply", "index": 1, "parameters": [
            {"type": "payload", "payload": "NOPE:camp1"}]},
    ],
    "invoice_ready/pt_BR": [
        {"type": "header", "parameters": [{"type": "document", "document": {
            "link": "https://files.example.com/inv/INV-5531.pdf", "filename": "INV-5531.pdf"}}]},
        body_params("Marcos", "INV-5531", "R$ 412,90"),
    ],
    "store_opening_hours/en_US": [],
    "autumn_sale_2026/en_GB": [
        {"type": "header", "parameters": [{"type": "image", "image": {
            "link": "https://cdn.example.com/a.png"}}]},
        {"type": "body", "parameters": [
            {"type": "text", "parameter_name": "first_name", "text": "Priya"},
            {"type": "text", "parameter_name": "discount", "text": "20%"},
            {"type": "text", "parameter_name": "end_date", "text": "30 November"},
        ]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [
            {"type": "text", "text": "p/AUT20?u=88213"}]},
        {"type": "button", "sub_type": "quick_reply", "index": "2", "parameters": [
            {"type": "payload", "payload": "OPTOUT:camp417"}]},
        {"type": "button", "sub_type": "copy_code", "index": "3", "parameters": [
            {"type": "coupon_code", "coupon_code": "AUT20"}]},
    ],
    "order_shipped/en_US": [
        {"type": "header", "parameters": [
            {"type": "text", "parameter_name": "order_id", "text": "A-1042"}]},
        {"type": "body", "parameters": [
            {"type": "text", "parameter_name": "first_name", "text": "Noah"},
            {"type": "text", "parameter_name": "carrier", "text": "DHL"},
        ]},
        {"type": "button", "sub_type": "url", "index": 0, "parameters": [
            {"type": "text", "text": "ZX81"}]},
    ],
    "login_code/en_US": [
        body_params("482913"),
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [
            {"type": "text", "text": "482913"}]},
    ],
    "product_launch_video/en_US": [
        {"type": "header", "parameters": [{"type": "video", "video": {"id": "987"}}]},
        {"type": "body", "parameters": [
            {"type": "currency", "currency": {"fallback_value": "€19.99", "code": "EUR",
                                              "amount_1000": 19990}}]},
    ],
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(VALID_SENDS))
async def test_valid_sends_of_every_approved_shape_are_accepted(client, key):
    name, language = key.split("/")
    status, body = await send(client, template_send(name, language, VALID_SENDS[key]))
    assert status == 200, body


# --- auth and envelope ------------------------------------------------------------------------


async def test_missing_bearer_token_is_190(client):
    error = await expect_error(client, delivery_window(), 190, http=401, headers={})
    assert "access token" in error["error_data"]["details"]


async def test_only_the_configured_token_is_accepted(aiohttp_client):
    client = await aiohttp_client(make_app(SandboxConfig(webhooks=False, token="s3cret")))
    await expect_error(client, delivery_window(), 190, http=401)
    status, _ = await send(client, delivery_window(), headers={"Authorization": "Bearer s3cret"})
    assert status == 200


async def test_any_phone_number_id_and_unversioned_path(client):
    status, _ = await send(client, delivery_window(), path="/v23.0/1/messages")
    assert status == 200
    status, _ = await send(client, delivery_window(), path="/42/messages")
    assert status == 200


async def test_invalid_json_is_100(client):
    resp = await client.post(MESSAGES, data=b"{nope", headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == 100


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"messaging_product": None}, 100),
        ({"messaging_product": "sms"}, 100),
        ({"to": None}, 100),
        ({"to": "not a number"}, 131009),
        ({"to": "+12"}, 131009),
        ({"type": "text"}, 131047),
        ({"type": "hologram"}, 100),
        ({"template": None}, 100),
        ({"biz_opaque_callback_data": "x" * 513}, 100),
    ],
)
async def test_envelope_errors(client, change, code):
    body = delivery_window()
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    await expect_error(client, body, code)


# --- template lookup --------------------------------------------------------------------------


async def test_unknown_template_or_language_is_132001(client):
    body = delivery_window()
    body["template"]["name"] = "no_such_template"
    error = await expect_error(client, body, 132001)
    assert "no_such_template" in error["error_data"]["details"]
    body = delivery_window()
    body["template"]["language"]["code"] = "fr_FR"
    await expect_error(client, body, 132001)


async def test_pending_template_is_132001_and_paused_is_132015(client):
    pending = template_send("black_friday_teaser", "en_US", [body_params("Kim")])
    await expect_error(client, pending, 132001)
    paused = template_send(
        "winter_coupon",
        "es_MX",
        [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "1"}}]},
            body_params("INV25", "25%"),
            {"type": "button", "sub_type": "copy_code", "index": 0, "parameters": [
                {"type": "coupon_code", "coupon_code": "INV25"}]},
        ],
    )  # fmt: skip
    await expect_error(client, paused, 132015)


# --- components -------------------------------------------------------------------------------


def broken(key: str, mutate) -> dict:
    name, language = key.split("/")
    components = copy.deepcopy(VALID_SENDS[key])
    mutate(components)
    return template_send(name, language, components)


def _set(path, value):
    def mutate(components):
        target = components
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


COMPONENT_ERRORS = [
    # parameter counts
    ("cart_reminder_v2/en", lambda c: c.pop(0), 132000),  # header variable missing
    ("cart_reminder_v2/en", lambda c: c[1]["parameters"].pop(), 132000),
    ("store_opening_hours/en_US", lambda c: c.append(body_params("extra")), 132000),
    # named parameters
    ("appointment_confirmed/en_GB", lambda c: c[0]["parameters"][0].pop("parameter_name"), 100),
    ("appointment_confirmed/en_GB", _set([0, "parameters", 0, "parameter_name"], "hour"), 132000),
    ("order_shipped/en_US", _set([0, "parameters", 0, "parameter_name"], "order"), 132000),
    ("cart_reminder_v2/en", _set([1, "parameters", 0, "parameter_name"], "count"), 100),
    # media headers
    ("spring_coupon/en_US", lambda c: c.pop(0), 132012),
    (
        "spring_coupon/en_US",
        _set([0, "parameters", 0], {"type": "video", "video": {"id": "1"}}),
        132012,
    ),
    ("spring_coupon/en_US", _set([0, "parameters", 0, "image"], {}), 131008),
    ("invoice_ready/pt_BR", lambda c: c.pop(0), 132012),
    ("product_launch_video/en_US", lambda c: c.pop(0), 132012),
    # buttons
    ("cart_reminder_v2/en", lambda c: c.pop(2), 131008),  # URL suffix missing
    ("cart_reminder_v2/en", _set([2, "parameters", 0, "text"], ""), 131008),
    ("spring_coupon/en_US", lambda c: c.pop(2), 131008),  # copy code missing
    ("autumn_sale_2026/en_GB", lambda c: c.pop(4), 131008),
    ("login_code/en_US", lambda c: c.pop(1), 131008),  # OTP code missing
    ("login_code/en_US", _set([1, "parameters", 0, "text"], "1" * 16), 100),
    ("spring_coupon/en_US", _set([3, "parameters", 0, "payload"], "p" * 129), 100),
    ("cart_reminder_v2/en", _set([2, "index"], "7"), 131009),
    ("cart_reminder_v2/en", _set([2, "sub_type"], "quick_reply"), 131009),
    ("cart_reminder_v2/en", _set([2, "index"], "first"), 100),
    # lengths and characters
    ("cart_reminder_v2/en", _set([1, "parameters", 0, "text"], "x" * 1025), 100),
    ("cart_reminder_v2/en", _set([0, "parameters", 0, "text"], "x" * 61), 100),
    ("cart_reminder_v2/en", _set([2, "parameters", 0, "text"], "x" * 2001), 100),
    ("spring_coupon/en_US", _set([2, "parameters", 0, "coupon_code"], "X" * 16), 100),
    ("cart_reminder_v2/en", _set([1, "parameters", 0, "text"], "two\nlines"), 132018),
    ("cart_reminder_v2/en", _set([1, "parameters", 0, "text"], "wide     gap"), 132018),
    ("cart_reminder_v2/en", _set([1, "parameters", 0], {"type": "image"}), 132012),
    ("cart_reminder_v2/en", lambda c: c.append({"type": "footer"}), 100),
]


@pytest.mark.parametrize(("key", "mutate", "code"), COMPONENT_ERRORS)
async def test_component_errors(client, key, mutate, code):
    await expect_error(client, broken(key, mutate), code)


async def test_body_count_error_names_the_counts(client):
    body = delivery_window()
    body["template"]["components"][0]["parameters"].pop()
    error = await expect_error(client, body, 132000)
    assert error["error_data"]["details"] == (
        "body: number of localizable_params (3) does not match the expected number of params (4)"
    )


async def test_named_parameters_are_accepted_in_any_order(client):
    [body] = VALID_SENDS["appointment_confirmed/en_GB"]
    shuffled = [{**body, "parameters": body["parameters"][::-1]}]
    status, _ = await send(client, template_send("appointment_confirmed", "en_GB", shuffled))
    assert status == 200


# --- throughput -------------------------------------------------------------------------------


async def test_burst_beyond_mps_gets_130429_and_recovers(aiohttp_client):
    client = await aiohttp_client(make_app(SandboxConfig(webhooks=False, mps=5)))
    results = await asyncio.gather(
        *(send(client, delivery_window(to=f"+4477009{i:05d}")) for i in range(12))
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 5 + [429] * 7
    throttled = next(body for status, body in results if status == 429)
    assert throttled["error"]["code"] == 130429
    # another phone number id has its own window
    status, _ = await send(client, delivery_window(), path="/v25.0/999/messages")
    assert status == 200
    stats = await (await client.get("/__sandbox/stats")).json()
    assert stats["accepted_total"] == 6  # throttled requests are not accepted sends
    assert stats["throttled"] == 7
    assert stats["peak_one_second_by_phone_number_id"]["106540352242922"] == 5
    await asyncio.sleep(1.05)
    status, _ = await send(client, delivery_window())
    assert status == 200


async def test_latency_is_added_without_serialising_requests(aiohttp_client):
    client = await aiohttp_client(make_app(SandboxConfig(webhooks=False, latency=(0.2, 0.2))))
    started = time.monotonic()
    results = await asyncio.gather(
        *(send(client, delivery_window(to=f"+4477009{i:05d}")) for i in range(20))
    )
    elapsed = time.monotonic() - started
    assert all(status == 200 for status, _ in results)
    assert 0.2 <= elapsed < 1.0


# --- failing numbers (synchronous) ----------------------------------------------------------


async def test_number_ending_9901_is_an_invalid_to(client):
    error = await expect_error(client, delivery_window(to="+15550109901"), 131009)
    assert "+15550109901" in error["error_data"]["details"]


async def test_number_ending_9904_stopped_marketing(client):
    await expect_error(client, delivery_window(to="+15550109904"), 131050)


@pytest.mark.parametrize(("number", "code", "http"), [
    ("+15550109905", 131000, 500),
    ("+15550109906", 131016, 503),
])  # fmt: skip
async def test_transient_numbers_succeed_when_retried(client, number, code, http):
    await expect_error(client, delivery_window(to=number), code, http=http)
    status, _ = await send(client, delivery_window(to=number))
    assert status == 200
    await client.post("/__sandbox/reset")  # a reset makes the first attempt fail again
    await expect_error(client, delivery_window(to=number), code, http=http)


@pytest.mark.parametrize("suffix", ["9902", "9903", "9907", "9908"])
async def test_asynchronous_failures_are_accepted_first(client, suffix):
    status, _ = await send(client, delivery_window(to=f"+1555010{suffix}"))
    assert status == 200


async def test_failing_numbers_can_be_turned_off(aiohttp_client):
    client = await aiohttp_client(make_app(SandboxConfig(webhooks=False, failing_numbers=False)))
    for suffix in ("9901", "9904", "9905"):
        status, _ = await send(client, delivery_window(to=f"+1555010{suffix}"))
        assert status == 200


async def test_ordinary_test_numbers_do_not_fail(client):
    for number in ("+15550000001", "+15550000009", "+447700900001", "+15551234567"):
        status, _ = await send(client, delivery_window(to=number))
        assert status == 200


async def test_stop_preference_blocks_marketing_only(client):
    resp = await client.post(
        "/__sandbox/inbound",
        json={"from": "+447700900555", "preference": "stop", "phone_number_id": "1"},
    )
    assert resp.status == 200
    marketing = template_send("cart_reminder_v2", "en", VALID_SENDS["cart_reminder_v2/en"],
                              to="+447700900555")  # fmt: skip
    await expect_error(client, marketing, 131050)
    status, _ = await send(client, delivery_window(to="+447700900555"))  # utility
    assert status == 200
    await client.post(
        "/__sandbox/inbound", json={"from": "+447700900555", "preference": "resume",
                                    "phone_number_id": "1"}
    )  # fmt: skip
    status, _ = await send(client, marketing)
    assert status == 200
