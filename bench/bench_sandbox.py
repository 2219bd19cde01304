"""Benchmark of the WhatsApp sandbox: how many template sends per second it accepts.

Starts `manage.py whatsapp_sandbox` as a subprocess on a free loopback port, pinned to one
core (this process takes the other), and drives it with aiohttp: many requests in flight for
a fixed time. Run 1: `--no-webhooks` (target: ≥ 3,000 accepted sends/s on one core). Run 2:
webhooks on, to a tiny receiver in this process that counts the statuses it is posted.
"""

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TARGET_SENDS = 3000.0
WARMUP_S = 0.5
SEND_S = 4.0
IN_FLIGHT = 64
DRAIN_MAX_S = 15.0

BODY_HEAD = b'{"messaging_product":"whatsapp","type":"template","biz_opaque_callback_data":"bench-'
BODY_MID = b'","to":"+1555'
BODY_TAIL = (
    b'","template":{"name":"delivery_window","language":{"code":"en_US"},"components":'
    b'[{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":'
    b'"PK-88213"},{"type":"text","text":"tomorrow"},{"type":"text","text":"9:00-12:00"}]}]}}'
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return []


@contextlib.contextmanager
def _sandbox(port: int, *extra: str):
    """The sandbox subprocess, pinned to the first core; terminated on the way out."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    cmd = [_python(), "manage.py", "whatsapp_sandbox", "--host", HOST, "--port", str(port)]
    cmd += ["--mps", "100000", "--no-failing-numbers", "--seed", "1", *extra]
    # stderr goes to a file: a pipe nobody reads could fill up and stall the sandbox.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            cpus = _cpus()
            if len(cpus) >= 2:
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(proc.pid, {cpus[0]})
            yield proc
        except Exception:
            log.seek(0)
            print(log.read().decode(errors="replace")[-2000:], file=sys.stderr)
            raise
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


async def _wait_healthy(session: aiohttp.ClientSession, base: str, proc) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited with code {proc.returncode}")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with session.get(f"{base}/__sandbox/health") as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError("sandbox did not become healthy within 30 s")


async def _drive(base: str, proc) -> dict:
    """Send for WARMUP_S + SEND_S with IN_FLIGHT requests in flight; count the 200s."""
    url = f"{base}/v25.0/106540352242922/messages"
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as session:
        await _wait_healthy(session, base, proc)
        counter = iter(range(10**9))
        counts = {"ok": 0, "other": 0, "measured": 0}
        start = time.monotonic()
        measure_from = start + WARMUP_S
        stop_at = measure_from + SEND_S

        async def worker():
            while (now := time.monotonic()) < stop_at:
                n = next(counter)
                number = b"%07d" % (n % 10_000_000)
                body = b"".join((BODY_HEAD, b"%d" % n, BODY_MID, number, BODY_TAIL))
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status == 200:
                        counts["ok"] += 1
                        if now >= measure_from:
                            counts["measured"] += 1
                    else:
                        counts["other"] += 1

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        elapsed = time.monotonic() - measure_from
        async with session.get(f"{base}/__sandbox/stats") as resp:
            stats = await resp.json()
    return {
        "sends_per_s": counts["measured"] / elapsed,
        "ok": counts["ok"],
        "errors": counts["other"],
        "stats": stats,
    }


async def _with_webhooks() -> dict:
    received = {"statuses": 0, "posts": 0, "last": 0.0}

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        received["statuses"] += body.count(b'"recipient_id"')
        received["posts"] += 1
        received["last"] = time.monotonic()
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    rport = _free_port()
    await web.TCPSite(runner, HOST, rport).start()
    port = _free_port()
    extra = [
        "--webhook-url",
        f"http://{HOST}:{rport}/hook",
        "--app-secret",
        "bench-secret",
        "--sent-delay-ms",
        "20-100",
        "--delivered-delay-ms",
        "20-100",
        "--read-delay-ms",
        "20-200",
        "--duplicate-rate",
        "0",
        "--reorder-rate",
        "0",
    ]
    try:
        with _sandbox(port, *extra) as proc:
            base = f"http://{HOST}:{port}"
            started = time.monotonic()
            result = await _drive(base, proc)
            # Wait for the sandbox to post everything it scheduled (bounded).
            async with aiohttp.ClientSession() as session:
                deadline = time.monotonic() + DRAIN_MAX_S
                while time.monotonic() < deadline:
                    async with session.get(f"{base}/__sandbox/stats") as resp:
                        stats = await resp.json()
                    if stats["webhooks"]["idle"]:
                        break
                    await asyncio.sleep(0.2)
    finally:
        await runner.cleanup()
    span = max(received["last"] - started, 1e-9)
    result.update(
        statuses=received["statuses"],
        posts=received["posts"],
        statuses_per_s=received["statuses"] / span,
        expected=stats["webhooks"]["statuses_delivered"],
        idle=stats["webhooks"]["idle"],
    )
    return result


def _pinned(fn):
    """Run fn with this process on the second core, the sandbox on the first."""
    cpus = _cpus()
    if len(cpus) < 2:
        return fn()
    try:
        os.sched_setaffinity(0, {cpus[1]})
    except OSError:
        return fn()
    try:
        return fn()
    finally:
        os.sched_setaffinity(0, set(cpus))


def _no_webhooks() -> dict:
    port = _free_port()
    with _sandbox(port, "--no-webhooks") as proc:
        return asyncio.run(_drive(f"http://{HOST}:{port}", proc))


def run() -> list[dict]:
    bare = _pinned(_no_webhooks)
    hooks = _pinned(lambda: asyncio.run(_with_webhooks()))
    print(
        "   no webhooks:",
        json.dumps({k: v for k, v in bare.items() if k != "stats"}),
        "\n   webhooks:",
        json.dumps({k: v for k, v in hooks.items() if k != "stats"}),
    )
    return [
        {
            "name": "accepted sends/s, one core, --no-webhooks",
            "value": bare["sends_per_s"],
            "unit": "sends/s",
            "target": f">= {TARGET_SENDS:,.0f}",
            "ok": bare["sends_per_s"] >= TARGET_SENDS and bare["errors"] == 0,
        },
        {
            "name": "accepted sends/s, one core, webhooks on",
            "value": hooks["sends_per_s"],
            "unit": "sends/s",
            "target": None,
            "ok": hooks["errors"] == 0,
        },
        {
            "name": "webhook statuses delivered/s",
            "value": hooks["statuses_per_s"],
            "unit": "statuses/s",
            "target": None,
            "ok": hooks["idle"] and hooks["statuses"] == hooks["expected"],
        },
        {
            "name": "webhook statuses delivered (all of them)",
            "value": float(hooks["statuses"]),
            "unit": "statuses",
            "target": None,
            "ok": hooks["idle"] and hooks["statuses"] == hooks["expected"],
        },
    ]
