"""Helpers shared by the sandbox tests: request bodies, a webhook receiver, fast configs.

Not fixtures (importing fixtures across modules confuses linters): plain functions and a
`Receiver` class that the test modules wrap in their own fixtures.
"""

import asyncio
import hashlib
import hmac
import json
import time

from aiohttp import web

from whatsapp.sandbox import SandboxConfig

SECRET = "test-app-secret"
PHONE_NUMBER_ID = "106540352242922"
AUTH = {"Authorization": "Bearer test-token"}
MESSAGES = f"/v25.0/{PHONE_NUMBER_ID}/messages"

# Delays of a few milliseconds keep the webhook tests fast.
FAST = {
    "sent_delay": (0.002, 0.006),
    "delivered_delay": (0.002, 0.006),
    "read_delay": (0.002, 0.006),
    "failed_delay": (0.002, 0.006),
    "batch_window": 0.003,
    "duplicate_rate": 0.0,
    "reorder_rate": 0.0,
    "duplicate_delay": (0.002, 0.005),
    "retry_base": 0.02,
    "retry_max": 0.16,
    "seed": 7,
}


def webhook_config(url: str, **overrides) -> SandboxConfig:
    return SandboxConfig(webhook_url=url, app_secret=SECRET, **{**FAST, **overrides})


def body_params(*values: str) -> dict:
    return {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}


def delivery_window(to: str = "+447700900123", callback: str | None = None, **extra) -> dict:
    """A valid send of the positional, body-only template."""
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": "delivery_window",
            "language": {"code": "en_US"},
            "components": [body_params("Ana", "PK-1", "tomorrow", "9-12")],
        },
        **extra,
    }
    if callback is not None:
        body["biz_opaque_callback_data"] = callback
    return body


def template_send(name: str, language: str, components: list, to: str = "+447700900123"):
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {"name": name, "language": {"code": language}, "components": components},
    }


async def wait_until(predicate, timeout: float = 3.0, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def start_receiver(aiohttp_server) -> "Receiver":
    """A Receiver served on a free loopback port; its URL is `receiver.url`."""
    receiver = Receiver()
    server = await aiohttp_server(receiver.app)
    receiver.url = str(server.make_url("/hook"))
    return receiver


class Receiver:
    """A webhook endpoint that checks signatures and records every POST it is sent."""

    def __init__(self, secret: str = SECRET):
        self.secret = secret.encode()
        self.posts: list[dict] = []  # {"raw", "json", "signature_ok", "at"}
        self.answers: list[int] = []  # status codes to answer, in order; then 200
        self.attempt_times: list[float] = []
        self.delay = 0.0  # seconds to wait before answering
        self.url = ""
        self.app = web.Application()
        self.app.router.add_post("/hook", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.attempt_times.append(time.monotonic())
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answers.pop(0) if self.answers else 200
        if status != 200:
            return web.Response(status=status, text="not now")
        expected = "sha256=" + hmac.new(self.secret, raw, hashlib.sha256).hexdigest()
        signature = request.headers.get("X-Hub-Signature-256", "")
        self.posts.append(
            {
                "raw": raw,
                "json": json.loads(raw),
                "signature_ok": hmac.compare_digest(expected, signature),
                "at": time.monotonic(),
            }
        )
        return web.Response(text="EVENT_RECEIVED")

    @property
    def statuses(self) -> list[dict]:
        """Every status item, in the order they arrived."""
        return [
            status
            for post in self.posts
            for entry in post["json"]["entry"]
            for change in entry["changes"]
            for status in change["value"].get("statuses", [])
        ]

    def statuses_of(self, wamid: str) -> list[str]:
        return [s["status"] for s in self.statuses if s["id"] == wamid]

    def changes(self, field: str) -> list[dict]:
        return [
            change
            for post in self.posts
            for entry in post["json"]["entry"]
            for change in entry["changes"]
            if change["field"] == field
        ]
