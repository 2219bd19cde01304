"""Request context for the logs: every line logged while a request is handled carries its
`request_id` and `path`, and the response returns the id (X-Request-ID) for a support ticket.

A proxy's or caller's X-Request-ID is kept when it is a sane short token, so one id follows
the request across services; anything else (too long, odd characters that would garble a log
line or a header) is replaced by a fresh one. The context is cleared at both ends, because a
server thread handles many requests in turn.

Meta's webhook POSTs skip Django (webhooks/wsgi.py) and so this middleware too.
"""

import re
import uuid

import structlog

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(incoming: str | None) -> str:
    if incoming and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id(request.headers.get(HEADER))
        request.request_id = rid
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid, path=request.path)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.clear_contextvars()
        response[HEADER] = rid
        return response
