"""The synchronous Graph API client (requests) for low-volume calls: the template
catalogue listing and single sends. The high-rate send path is `whatsapp.async_client`,
which shares this module's URL building and response parsing so both raise the same
errors for the same answers.

Failures always surface as `WhatsAppError` (an HTTP answer, classified by
`whatsapp.errors`) or `WhatsAppTransportError` (no answer; `maybe_delivered` says whether
the request may have gone through). The access token travels only in the Authorization
header and is never logged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from .errors import PROTOCOL_RULE, WhatsAppError, WhatsAppTransportError

logger = logging.getLogger(__name__)

TEMPLATE_FIELDS = (
    "name,category,status,language,components,parameter_format,quality_score,sub_category,"
    "message_send_ttl_seconds,id"
)
# 6,000 templates per WABA at most (docs/whatsapp.md §2.1) is 60 pages of 100; far more pages
# than that means the listing is not converging.
MAX_TEMPLATE_PAGES = 200
# Threads of one process share the session; the pool must not make them queue.
POOL_MAXSIZE = 100


@dataclass(frozen=True, slots=True)
class SendResult:
    wamid: str
    message_status: str  # "accepted" or "held_for_quality_assessment" (docs/whatsapp.md §1.4)
    wa_id: str


def graph_base(base_url: str | None = None, version: str | None = None) -> str:
    base = (base_url or settings.WHATSAPP_GRAPH_URL).rstrip("/")
    return f"{base}/{(version or settings.WHATSAPP_GRAPH_VERSION).strip('/')}"


# The two send endpoints of a phone number (docs/whatsapp.md §11.2): the Cloud API's, and the
# Marketing Messages API's, which takes the same body plus `product_policy` and
# `message_activity_sharing` and sends MARKETING templates only.
MESSAGES = "messages"
MARKETING_MESSAGES = "marketing_messages"
SEND_PATHS = frozenset({MESSAGES, MARKETING_MESSAGES})


def send_url(base: str, phone_number_id: str, path: str = MESSAGES) -> str:
    if path not in SEND_PATHS:
        raise ValueError(f"unknown send path {path!r}; one of {sorted(SEND_PATHS)}")
    return f"{base}/{phone_number_id}/{path}"


def encode_payload(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def auth_headers(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"}


def parse_send_response(status: int, body: bytes | str | None) -> SendResult:
    """A send's HTTP answer → SendResult, or the classified WhatsAppError."""
    if not 200 <= status < 300:
        raise WhatsAppError.from_response(status, body)
    try:
        data = json.loads(body) if body else None
        message = data["messages"][0]
        wamid = str(message["id"])
        message_status = str(message.get("message_status") or "")
    except (ValueError, UnicodeDecodeError, LookupError, TypeError, AttributeError):
        # Meta said yes but we cannot tell to what: the message may well be out, so it
        # must not be resent blindly.
        raise WhatsAppError(
            f"HTTP {status} without a message id in the answer",
            http_status=status,
            rule=PROTOCOL_RULE,
            maybe_delivered=True,
        ) from None
    try:
        wa_id = str(data["contacts"][0]["wa_id"])
    except (LookupError, TypeError):
        wa_id = ""  # only informative; the wamid is what later webhooks match on
    return SendResult(wamid=wamid, message_status=message_status, wa_id=wa_id)


# --- one pooled session per process ---------------------------------------------------------

_session_state: tuple[int, requests.Session] | None = None
_session_lock = threading.Lock()


def get_session() -> requests.Session:
    """The process's pooled session. Keyed by pid: a forked worker must not share the
    parent's sockets, so it builds its own on first use."""
    global _session_state
    state = _session_state
    pid = os.getpid()
    if state is not None and state[0] == pid:
        return state[1]
    with _session_lock:
        if _session_state is None or _session_state[0] != pid:
            session = requests.Session()
            # max_retries=0: urllib3 must never resend a POST on its own (double sends).
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_MAXSIZE, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _session_state = (pid, session)
        return _session_state[1]


def _reset_after_fork() -> None:
    global _session_state, _session_lock
    _session_state = None
    _session_lock = threading.Lock()  # the parent may have held it while forking


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


class _Bearer(requests.auth.AuthBase):
    """Explicit auth so requests never substitutes ~/.netrc credentials for ours."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def _transport_error(exc: requests.RequestException) -> WhatsAppTransportError:
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    never_sent = isinstance(
        exc, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.ProxyError
    ) or isinstance(reason, NewConnectionError | ConnectTimeoutError)
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        maybe = not never_sent
    else:
        # A broken body (ChunkedEncodingError…) came after an answer started: maybe sent.
        # Anything else (a bad URL) failed before anything left this process.
        maybe = isinstance(
            exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
        )
    # type(exc) only: str(exc) can quote the URL, and paging URLs may carry a token.
    return WhatsAppTransportError(
        f"{type(exc).__name__} talking to the Graph API", maybe_delivered=maybe
    )


class GraphClient:
    """Graph API calls for one installation's settings (URL, version, timeouts)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        version: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        session: requests.Session | None = None,
    ):
        self.base = graph_base(base_url, version)
        self.timeout = (
            connect_timeout or settings.WHATSAPP_CONNECT_TIMEOUT,
            read_timeout or settings.WHATSAPP_READ_TIMEOUT,
        )
        self._session = session

    def send_template(
        self, *, phone_number_id: str, access_token: str, payload: dict, path: str = MESSAGES
    ) -> SendResult:
        url = send_url(self.base, phone_number_id, path)
        context = {"phone_number_id": phone_number_id}
        status, body = self._request(
            "POST", url, access_token, data=encode_payload(payload), context=context
        )
        try:
            return parse_send_response(status, body)
        except WhatsAppError as exc:
            log_failure("send_template", exc, **context)
            raise

    def list_templates(
        self,
        *,
        waba_id: str,
        access_token: str,
        limit: int = 100,
        max_pages: int = MAX_TEMPLATE_PAGES,
    ) -> Iterator[dict]:
        """Every template of the WABA, page by page. Raises (after yielding earlier pages)
        if the paging loops or never ends: the caller must not treat a partial listing as
        the catalogue, since templates missing from it would look deleted upstream."""
        url = f"{self.base}/{waba_id}/message_templates"
        params: dict[str, str | int] = {"fields": TEMPLATE_FIELDS, "limit": limit}
        context = {"waba_id": waba_id}
        seen: set[str] = set()
        for _page in range(max_pages):
            status, body = self._request("GET", url, access_token, params=params, context=context)
            data = self._json_page(status, body, context)
            yield from (t for t in data.get("data") or [] if isinstance(t, dict))
            paging = data.get("paging") or {}
            next_url = paging.get("next")
            if not next_url:
                return
            after = (paging.get("cursors") or {}).get("after") or _query_value(next_url, "after")
            key = after or next_url
            if key in seen:
                raise _protocol_error(context, "the template listing repeats a page")
            seen.add(key)
            if after:
                # Rebuilt on our base URL: the bearer token never goes to another host, and
                # Meta's `next` URLs may embed an access_token we do not want in logs.
                params = {"fields": TEMPLATE_FIELDS, "limit": limit, "after": after}
            elif _same_origin(next_url, self.base):
                url, params = _strip_token(next_url), {}
            else:
                raise _protocol_error(context, "the next page is on another host")
        raise _protocol_error(context, f"the template listing exceeds {max_pages} pages")

    def get_object(self, *, object_id: str, access_token: str, fields: str) -> dict:
        """`GET /{object_id}?fields=…`: one Graph object (a phone number, a WABA) as a dict."""
        context = {"object_id": object_id}
        status, body = self._request(
            "GET",
            f"{self.base}/{object_id}",
            access_token,
            params={"fields": fields},
            context=context,
        )
        return self._json_page(status, body, context, operation="get_object")

    def templates_page(self, *, waba_id: str, access_token: str, limit: int = 1) -> dict:
        """The first page of the WABA's template listing (a connection test: the WABA id is
        right and the token may read its templates)."""
        context = {"waba_id": waba_id}
        status, body = self._request(
            "GET",
            f"{self.base}/{waba_id}/message_templates",
            access_token,
            params={"fields": "name,status,language", "limit": limit},
            context=context,
        )
        return self._json_page(status, body, context)

    # --- internals --------------------------------------------------------------------------

    def _request(self, method, url, access_token, *, context, data=None, params=None):
        session = self._session or get_session()
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            response = session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                auth=_Bearer(access_token),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error = _transport_error(exc)
            log_failure(f"{method} request", error, **context)
            raise error from None
        return response.status_code, response.content

    @staticmethod
    def _json_page(
        status: int, body: bytes, context: dict, operation: str = "list_templates"
    ) -> dict:
        if not 200 <= status < 300:
            error = WhatsAppError.from_response(status, body)
            log_failure(operation, error, **context)
            raise error
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise _protocol_error(
                context, f"HTTP {status} with a body that is not JSON", operation=operation
            )
        return data


def log_failure(operation: str, error: WhatsAppError, **context: str) -> None:
    """One warning per failed call, with the ids support needs and never the token."""
    where = " ".join(f"{key}={value}" for key, value in context.items())
    logger.warning(
        "Graph API %s failed (%s code=%s http=%s action=%s maybe_delivered=%s fbtrace_id=%s): %s",
        operation,
        where,
        error.code,
        error.http_status,
        error.action.value,
        error.maybe_delivered,
        error.fbtrace_id,
        error,
        extra={
            **context,
            "error_code": error.code,
            "fbtrace_id": error.fbtrace_id,
            "action": error.action.value,
        },
    )


def _protocol_error(
    context: dict, message: str, operation: str = "list_templates"
) -> WhatsAppError:
    error = WhatsAppError(message, rule=PROTOCOL_RULE)
    log_failure(operation, error, **context)
    return error


def _query_value(url: str, name: str) -> str | None:
    return dict(parse_qsl(urlsplit(url).query)).get(name)


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _strip_token(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "access_token"]
    return urlunsplit(parts._replace(query=urlencode(query)))
