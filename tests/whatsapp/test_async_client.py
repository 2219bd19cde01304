"""The aiohttp sender against a small local Graph API stand-in (loopback only)."""

import asyncio
import json
import logging
import socket

import pytest
from aiohttp import web

from whatsapp.async_client import AsyncGraphSender
from whatsapp.client import SendResult
from whatsapp.errors import Action, WhatsAppError, WhatsAppTransportError

VERSION = "v99.0"
TOKEN = "EAAG-async-secret-token"
PAYLOAD = {"messaging_product": "whatsapp", "to": "+447700900123", "type": "template"}


def graph_app(handler):
    app = web.Application()
    app.router.add_post(f"/{VERSION}/{{phone_number_id}}/messages", handler)
    return app


async def start(aiohttp_server, handler):
    server = await aiohttp_server(graph_app(handler), host="127.0.0.1")
    return f"http://127.0.0.1:{server.port}"


async def send(sender, phone_number_id="PN1"):
    return await sender.send_template(
        phone_number_id=phone_number_id, access_token=TOKEN, payload=PAYLOAD
    )


@pytest.mark.asyncio
async def test_send_returns_the_wamid_and_sends_version_bearer_and_body(aiohttp_server):
    seen = {}

    async def handler(request):
        seen["path"] = request.path
        seen["auth"] = request.headers["Authorization"]
        seen["type"] = request.headers["Content-Type"]
        seen["body"] = json.loads(await request.read())
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": "+447700900123", "wa_id": "447700900123"}],
                "messages": [{"id": "wamid.ABC", "message_status": "accepted"}],
            }
        )

    base = await start(aiohttp_server, handler)
    async with AsyncGraphSender(limit=4, base_url=base, version=VERSION, read_timeout=5) as sender:
        results = await asyncio.gather(*(send(sender) for _ in range(3)))

    assert results == [SendResult("wamid.ABC", "accepted", "447700900123")] * 3
    assert seen == {
        "path": f"/{VERSION}/PN1/messages",
        "auth": f"Bearer {TOKEN}",
        "type": "application/json",
        "body": PAYLOAD,
    }


@pytest.mark.asyncio
async def test_error_body_raises_the_classified_error(aiohttp_server, caplog):
    async def handler(request):
        return web.json_response(
            {
                "error": {
                    "message": "(#132015) Template is paused",
                    "code": 132015,
                    "error_data": {"details": "Template paused due to low quality"},
                    "fbtrace_id": "TRACE9",
                }
            },
            status=400,
        )

    base = await start(aiohttp_server, handler)
    caplog.set_level(logging.WARNING)
    async with AsyncGraphSender(base_url=base, version=VERSION) as sender:
        with pytest.raises(WhatsAppError) as caught:
            await send(sender)

    error = caught.value
    assert not isinstance(error, WhatsAppTransportError)
    assert (error.code, error.action, error.http_status) == (132015, Action.STOP, 400)
    assert error.fbtrace_id == "TRACE9"
    assert "TRACE9" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.asyncio
async def test_html_error_page_is_a_retry(aiohttp_server):
    async def handler(request):
        return web.Response(text="<h1>503 Service Unavailable</h1>", status=503)

    base = await start(aiohttp_server, handler)
    async with AsyncGraphSender(base_url=base, version=VERSION) as sender:
        with pytest.raises(WhatsAppError) as caught:
            await send(sender)
    assert caught.value.action is Action.RETRY
    assert caught.value.http_status == 503


@pytest.mark.asyncio
async def test_read_timeout_may_have_been_delivered(aiohttp_server):
    async def handler(request):
        await request.read()  # the request fully arrived; the answer is late
        await asyncio.sleep(2)
        return web.json_response({})

    base = await start(aiohttp_server, handler)
    async with AsyncGraphSender(base_url=base, version=VERSION, read_timeout=0.2) as sender:
        with pytest.raises(WhatsAppTransportError) as caught:
            await send(sender)
    assert caught.value.maybe_delivered is True
    assert caught.value.action is Action.RETRY


@pytest.mark.asyncio
async def test_refused_connection_was_not_delivered():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async with AsyncGraphSender(
        base_url=f"http://127.0.0.1:{port}", version=VERSION, connect_timeout=1
    ) as sender:
        with pytest.raises(WhatsAppTransportError) as caught:
            await send(sender)
    assert caught.value.maybe_delivered is False


@pytest.mark.asyncio
async def test_sending_on_a_closed_sender_is_a_programming_error():
    sender = AsyncGraphSender(base_url="http://127.0.0.1:9", version=VERSION)
    with pytest.raises(RuntimeError, match="not open"):
        await send(sender)
