"""The one place that opens Redis connections for code that talks to Redis directly
(the rate limiter, live counters). Celery manages its own broker connections."""

import os
import threading

import redis
from django.conf import settings

_lock = threading.Lock()
_clients: dict[tuple[int, str], redis.Redis] = {}


def get_redis() -> redis.Redis:
    """A pooled client for `REDIS_URL`, one pool per process (pools must not cross a fork)."""
    key = (os.getpid(), settings.REDIS_URL)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    settings.REDIS_URL, socket_connect_timeout=5, health_check_interval=30
                )
                _clients[key] = client
    return client
