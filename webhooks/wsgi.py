"""A WSGI fast path for Meta's webhook POSTs, in front of Django.

Meta posts one status per POST, thousands a second during a campaign. Django's request
cycle for one of them (nine middleware, URL resolution, a connection health check per
request) costs more CPU than checking the signature and storing the body. This wrapper
answers `POST /webhooks/whatsapp/` itself with the very service the view uses
(`webhook_receive`), and hands every other request, the GET handshake included, to Django.

config/wsgi.py installs it: `application = webhook_fast_path(get_wsgi_application())`.
Without it the Django view answers the same way, only slower.

What the Django cycle would have done and still matters here: database connections are
recycled as CONN_MAX_AGE / CONN_HEALTH_CHECKS say, at most once a second per thread instead of
on every request, and at once after an error. Nothing is built from the Host header, so
ALLOWED_HOSTS has nothing to protect on this path.
"""

import logging
import threading
import time

from django import db
from django.conf import settings

logger = logging.getLogger(__name__)

PATH = "/webhooks/whatsapp/"
RECYCLE_SECONDS = 1.0
_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 413: "Payload Too Large"}
_local = threading.local()


def webhook_fast_path(app):
    """Wrap Django's WSGI application (call it after Django is set up)."""
    from .services import webhook_receive

    def application(environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        status = _receive(environ, webhook_receive)
        reason = _REASONS.get(status, "Internal Server Error")
        start_response(
            f"{status} {reason}", [("Content-Type", "text/plain"), ("Content-Length", "0")]
        )
        return [b""]

    application.webhook_fast_path = True
    return application


def _receive(environ, webhook_receive) -> int:
    now = time.monotonic()
    if now - getattr(_local, "recycled_at", 0.0) >= RECYCLE_SECONDS:
        db.close_old_connections()
        _local.recycled_at = now
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return 413
    stream = environ["wsgi.input"]
    # Without a Content-Length (chunked), read up to one byte past the limit to detect it.
    body = stream.read(declared) if declared else stream.read(limit + 1)
    try:
        return webhook_receive(
            body=body, signature=environ.get("HTTP_X_HUB_SIGNATURE_256")
        ).status_code
    except Exception:  # Meta retries anything but a 200; the connection may be broken
        logger.exception("webhook receive failed")
        db.close_old_connections()
        _local.recycled_at = time.monotonic()
        return 500
