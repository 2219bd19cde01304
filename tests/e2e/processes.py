"""Real processes for end-to-end tests: Celery workers on the test's database and Redis."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def database_url() -> str:
    """The URL of the database this test runs on, for processes that must share it."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    host = f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{s['NAME']}"


def process_env(**extra) -> dict:
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "WHATSAPP_GRAPH_URL": settings.WHATSAPP_GRAPH_URL,
        **{k: str(v) for k, v in extra.items()},
    }


class Worker:
    """A `celery worker` process reading its own queue (tests run in parallel)."""

    def __init__(self, queue: str, *, beat: bool = False, prefix: tuple[str, ...] = (), **env):
        # `prefix`: a command the worker runs under, e.g. ("ip", "netns", "exec", name).
        self.queue = queue
        # With beat, the periodic jobs (scheduled starts, the webhook drain…) run too, on
        # this worker's queue, from a schedule file of its own.
        self.beat_file = tempfile.NamedTemporaryFile(suffix=".beat", delete=False)  # noqa: SIM115
        beat_args = ["--beat", "--schedule", self.beat_file.name] if beat else []
        # The worker's log, for the failure message; closed in stop().
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                "2",
                "-Q",
                f"{queue},{queue}.senders",  # the senders' own queue (config/celery.py)
                "--hostname",
                f"e2e-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *beat_args,
            ],
            cwd=ROOT,
            env=process_env(CELERY_QUEUE=queue, **env),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def kill9(self) -> None:
        """kill -9 the worker and its pool processes: no chance to clean up."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        self.beat_file.close()
        Path(self.beat_file.name).unlink(missing_ok=True)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]


class WebServer:
    """gunicorn as production runs it (gunicorn.conf.py, config.wsgi with the webhook fast
    path) on a free loopback port, on the test's database and Redis."""

    def __init__(self, **env):
        from ..sandbox import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        venv = ROOT / ".venv" / "bin" / "gunicorn"
        gunicorn = str(venv) if venv.exists() else str(Path(sys.executable).parent / "gunicorn")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [gunicorn, "--config", "gunicorn.conf.py", "config.wsgi", "--bind", self.url[7:]],
            cwd=ROOT,
            env={**process_env(LOG_LEVEL="WARNING", WEB_CONCURRENCY="2", **env)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]
