"""The one Redis helper talks to the configured server."""

import uuid

from config.redis import get_redis


def test_get_redis_reaches_the_configured_server():
    client = get_redis()
    key = f"test:{uuid.uuid4()}"
    client.set(key, "1", ex=10)
    assert client.get(key) == b"1"
    assert get_redis() is client


def test_celery_is_configured_for_json_and_the_same_redis():
    from django.conf import settings

    from config.celery import app

    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.broker_url == settings.REDIS_URL
