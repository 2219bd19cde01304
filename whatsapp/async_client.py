"""The high-rate send path: template sends over one pooled aiohttp session.

A sender task keeps up to `worker_count` requests in flight through one
`AsyncGraphSender`; the connector's limit caps the open connections at the same number, so
each in-flight send owns a kept-alive connection instead of opening new ones.

URL building, request encoding and response parsing are `whatsapp.client`'s, so both
clients raise the same `WhatsAppError` for the same answer. Transport failures become
`WhatsAppTransportError` with `maybe_delivered` set only when the request may have reached
Meta (after the connection was up), which the engine needs to avoid double sends.
"""

from __future__ import annotations

import aiohttp
from django.conf import settings

from .client import (
    MESSAGES,
    SendResult,
    auth_headers,
    encode_payload,
    graph_base,
    log_failure,
    parse_send_response,
    send_url,
)
from .errors import WhatsAppError, WhatsAppTransportError

# Failures that happen before any byte of the request left: safe to resend.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class AsyncGraphSender:
    """`async with AsyncGraphSender(limit=worker_count) as sender: await sender.send_template(…)`"""

    def __init__(
        self,
        *,
        limit: int = 100,
        base_url: str | None = None,
        version: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
    ):
        self.base = graph_base(base_url, version)
        self.limit = limit
        # sock_connect / sock_read rather than connect / total: waiting for a free pooled
        # connection is not a network timeout, and a total timeout could not tell a request
        # that never left from one that did.
        self.timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None,
            sock_connect=connect_timeout or settings.WHATSAPP_CONNECT_TIMEOUT,
            sock_read=read_timeout or settings.WHATSAPP_READ_TIMEOUT,
        )
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.limit, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                # Meta's answers are small JSON; skip aiohttp's cookie handling per request.
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AsyncGraphSender:
        await self.open()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def send_template(
        self, *, phone_number_id: str, access_token: str, payload: dict, path: str = MESSAGES
    ) -> SendResult:
        """POST the payload to /{phone_number_id}/messages, or with `path="marketing_messages"`
        to the Marketing Messages API (the payload then carries its extra fields)."""
        session = self._session
        if session is None:
            raise RuntimeError("AsyncGraphSender is not open; use `async with` or open()")
        url = send_url(self.base, phone_number_id, path)
        try:
            async with session.post(
                url,
                data=encode_payload(payload),
                headers=auth_headers(access_token),
                allow_redirects=False,
            ) as response:
                status = response.status
                body = await response.read()
        except _NOT_SENT as exc:
            raise self._transport_error(exc, phone_number_id, maybe_delivered=False) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Read timeouts, resets and disconnects after the connection was up.
            raise self._transport_error(exc, phone_number_id, maybe_delivered=True) from None
        try:
            return parse_send_response(status, body)
        except WhatsAppError as exc:
            log_failure("send_template", exc, phone_number_id=phone_number_id)
            raise

    @staticmethod
    def _transport_error(
        exc: BaseException, phone_number_id: str, *, maybe_delivered: bool
    ) -> WhatsAppTransportError:
        error = WhatsAppTransportError(
            f"{type(exc).__name__} talking to the Graph API", maybe_delivered=maybe_delivered
        )
        log_failure("send_template", error, phone_number_id=phone_number_id)
        return error
