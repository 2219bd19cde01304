"""The web process as production starts it (`gunicorn -c gunicorn.conf.py config.wsgi`): a
signed webhook POST is stored before its 200, and only the accepted webhook POSTs are left out
of the access log."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings

from webhooks.models import WebhookEvent

from ..e2e.processes import ROOT, process_env
from ..sandbox import free_port
from . import payloads as p

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _gunicorn() -> str:
    return str(Path(sys.executable).parent / "gunicorn")


def _wait_ready(url: str, params: dict, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited during start-up"
        try:
            if requests.get(url, params=params, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not answer within 30 s")


def test_production_gunicorn_stores_webhooks_and_logs_only_the_refused_ones(account):
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp/"
    queue = f"test-gunicorn-{uuid.uuid4().hex[:8]}"  # the drain it queues is read by nobody
    env = process_env(CELERY_QUEUE=queue, LOG_LEVEL="INFO", WEB_CONCURRENCY="1")
    command = [_gunicorn(), "-c", "gunicorn.conf.py", "config.wsgi"]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            handshake = {
                "hub.mode": "subscribe",
                "hub.verify_token": account.verify_token,
                "hub.challenge": "ok",
            }
            _wait_ready(url, handshake, proc)
            body = p.dumps(p.statuses(account, p.status("wamid.G1", "delivered")))
            headers = {"Content-Type": "application/json"}
            accepted = requests.post(
                url,
                data=body,
                headers={**headers, "X-Hub-Signature-256": p.sign(body, account.app_secret)},
                timeout=10,
            )
            # Answered 200 only once committed: visible to this other connection at once.
            stored = [bytes(e.body) for e in WebhookEvent.objects.filter(account=account)]
            refused = requests.post(
                url,
                data=body,
                headers={**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64},
                timeout=10,
            )
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
            _forget_queue(queue)
        log.seek(0)
        lines = log.read().decode(errors="replace").splitlines()

    assert accepted.status_code == 200
    assert stored == [body]
    assert refused.status_code == 403
    assert WebhookEvent.objects.filter(account=account).count() == 1
    posts = [line for line in lines if '"POST /webhooks/whatsapp/ ' in line]
    assert len(posts) == 1, lines
    assert '" 403 ' in posts[0]
    assert any('"GET /webhooks/whatsapp/?hub.mode=subscribe' in line for line in lines), lines


def _forget_queue(queue: str) -> None:
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)
