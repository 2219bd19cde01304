"""The sandbox's failure modes: a template whose every send fails, bursts of one code, and the
number that always fails with a row-level 131009."""

import pytest
import pytest_asyncio

from whatsapp.sandbox import make_app
from whatsapp.sandbox.config import SandboxConfig

from .test_sandbox_support import AUTH, MESSAGES, delivery_window

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def client(aiohttp_client):
    return await aiohttp_client(make_app(SandboxConfig(webhooks=False, mps=1000)))


async def code_of(client, body) -> int | None:
    resp = await client.post(MESSAGES, json=body, headers=AUTH)
    payload = await resp.json()
    return payload["error"]["code"] if resp.status != 200 else None


async def test_a_failing_template_refuses_every_send_until_switched_off(client):
    resp = await client.post("/__sandbox/templates/delivery_window/fail", json={"code": 132012})
    assert resp.status == 200
    assert [await code_of(client, delivery_window()) for _ in range(3)] == [132012] * 3
    await client.post("/__sandbox/templates/delivery_window/fail", json={"code": None})
    assert await code_of(client, delivery_window()) is None


async def test_a_burst_fails_the_next_n_sends_then_ends(client):
    resp = await client.post("/__sandbox/burst", json={"code": 131049, "count": 2})
    assert (await resp.json())["burst"] == {"code": 131049, "count": 2}
    codes = [await code_of(client, delivery_window()) for _ in range(3)]
    assert codes == [131049, 131049, None]
    stats = await (await client.get("/__sandbox/stats")).json()
    assert stats["rejected_by_code"] == {"131049": 2}


async def test_reset_ends_every_failure_mode(client):
    await client.post("/__sandbox/templates/delivery_window/fail", json={"code": 131009})
    await client.post("/__sandbox/burst", json={"code": 131048, "count": 100})
    await client.post("/__sandbox/reset")
    assert await code_of(client, delivery_window()) is None


async def test_the_9910_number_always_fails_with_a_parameter_error(client):
    body = delivery_window()
    body["to"] = "+14155559910"
    for _ in range(2):
        resp = await client.post(MESSAGES, json=body, headers=AUTH)
        error = (await resp.json())["error"]
        assert (resp.status, error["code"]) == (400, 131009)
        assert "phone" not in error["error_data"]["details"].lower()  # about a value, not `to`


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/__sandbox/templates/delivery_window/fail", {"code": 424242}, 400),
        ("/__sandbox/templates/delivery_window/fail", {"code": "132012"}, 400),
        ("/__sandbox/templates/no_such_template/fail", {"code": 132012}, 404),
        ("/__sandbox/burst", {"code": 131049, "count": -1}, 400),
        ("/__sandbox/burst", {"code": 131049, "count": True}, 400),
        ("/__sandbox/burst", {"code": 999, "count": 3}, 400),
        ("/__sandbox/burst", [1, 2], 400),
    ],
)
async def test_bad_failure_mode_requests_are_refused(client, path, body, status):
    resp = await client.post(path, json=body)
    assert resp.status == status
    assert "error" in await resp.json()
