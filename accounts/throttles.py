"""Throttles: the JWT token endpoints per client IP, the API's sends per user, and the
dashboard login's failed attempts per client IP and per username.

Every count lives in the cache all web processes share (CACHES: Redis), so the limits hold
across processes. Rates come from settings (THROTTLE_TOKEN, THROTTLE_SENDS, THROTTLE_LOGIN:
`<count>/<second|minute|hour|day>`, or None for off), read on each request rather than once
at import as DRF's `THROTTLE_RATES` is. The client IP is DRF's reading of the connection
behind NUM_PROXIES trusted proxies (`BaseThrottle.get_ident`).
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """`"10/minute"` → `(10, 60)`; None (off) stays None. (The format is checked when the
    settings load.)"""
    if rate is None:
        return None
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period[0]]


class TokenThrottle(SimpleRateThrottle):
    """Every request to /api/v1/auth/token/ and …/refresh/, per client IP: the endpoints that
    take a password (or a refresh token) from anyone."""

    scope = "token"

    def get_rate(self):
        return settings.THROTTLE_TOKEN

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SendThrottle(SimpleRateThrottle):
    """Starting sends (send, send-bulk) and importing recipients, per user: one budget for
    the three. Reads on the same endpoints (GET recipients) are not counted."""

    scope = "sends"

    def get_rate(self):
        return settings.THROTTLE_SENDS

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class FailedLogins:
    """Failed dashboard logins in a sliding window (THROTTLE_LOGIN), counted per client IP
    and per username: the IP's count stops one client guessing many users' passwords, the
    username's stops many clients guessing one. While either is over the limit, the login
    view refuses before the password is checked. (A username's count also means anyone can
    lock a user out for one window by failing on purpose: the usual price of the second.)"""

    def _keys(self, request, username: str) -> list[str]:
        ip = BaseThrottle().get_ident(request)
        return [f"login-failures:ip:{ip}", *self._username_keys(username)]

    def _username_keys(self, username: str) -> list[str]:
        # Hashed: a username may hold anything; case-blind: Alice and alice share one count.
        name = username.strip().lower()
        if not name:
            return []
        return [f"login-failures:user:{hashlib.sha256(name.encode()).hexdigest()[:32]}"]

    def retry_after(self, request, username: str) -> int | None:
        """Seconds until the client may try again, or None when it may now."""
        rate = parse_rate(settings.THROTTLE_LOGIN)
        if rate is None:
            return None
        limit, window = rate
        now = time.time()
        waits = []
        for history in cache.get_many(self._keys(request, username)).values():
            recent = [t for t in history if t > now - window]
            if len(recent) >= limit:
                waits.append(window - (now - min(recent[:limit])))
        return max(1, math.ceil(max(waits))) if waits else None

    def record_failure(self, request, username: str) -> None:
        rate = parse_rate(settings.THROTTLE_LOGIN)
        if rate is None:
            return
        limit, window = rate
        now = time.time()
        keys = self._keys(request, username)
        stored = cache.get_many(keys)
        for key in keys:
            # Newest first, only as many as the limit: the oldest one kept says when the
            # client may try again.
            recent = [now, *(t for t in stored.get(key, []) if t > now - window)][:limit]
            cache.set(key, recent, timeout=window)

    def forget_username(self, username: str) -> None:
        """A successful login clears its username's failures (not its IP's)."""
        keys = self._username_keys(username)
        if keys:
            cache.delete_many(keys)


failed_logins = FailedLogins()
