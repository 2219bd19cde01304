"""The WhatsApp sandbox as a real process, for tests that send (the Cloud API faked at the
HTTP boundary, as in production)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sandbox:
    def __init__(self, *args: str, port: int | None = None):
        # A given port: a sandbox started again where the last one was (a restart).
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "whatsapp_sandbox",
                "--port",
                str(self.port),
                "--seed",
                "7",
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if requests.get(f"{self.url}/__sandbox/health", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("sandbox did not start")

    def reset(self) -> None:
        requests.post(f"{self.url}/__sandbox/reset", timeout=5).raise_for_status()

    def stats(self, **params) -> dict:
        return requests.get(f"{self.url}/__sandbox/stats", params=params, timeout=5).json()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
