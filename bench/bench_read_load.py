"""Read load while a big campaign sends (issue 18): "50 concurrent API clients and 20 dashboard
pages polling while a 1,000,000-recipient campaign sends: API and page p95 < 100 ms, the send
rate unchanged."

The full loop's harness (bench/bench_loop.py): a campaign of N recipients at rate_limit=1000,
a real Celery worker (concurrency 4, with beat) sending to the sandbox (50 ms latency), which
posts its sent / delivered / read webhooks back to gunicorn (gunicorn.conf.py). Once the send
has warmed up (WARMUP_S), the campaign sends SECONDS with no readers (the baseline), then
SECONDS more with the readers (the same campaign, going on), then it is stopped.

The readers run in a child process (asyncio + aiohttp, one keep-alive connection each):
- 50 API clients, each with its own JWT (minted with simplejwt's RefreshToken.for_user), each
  sending one GET every API_INTERVAL_S (default 1 s; fixed-rate, random phase), cycling through
  the campaign's detail, its stats, its recipients page 1 filtered `?status=delivered`, and
  the campaigns list;
- 20 dashboard pages, each with its own session cookie (Django's test Client's force_login):
  the campaign page once, then what it polls, as it polls it: the live fragment (htmx,
  `hx-trigger="every 2s"` in _live.html) 2 s after each response, and the charts' stats
  (static/js/campaign.js, session auth) 3 s after each response.
Every request's latency and status are recorded; a non-2xx (redirects not followed) or a
failed request is an error.

Figures: API and page p50 / p95 / p99 and requests/s, errors, the send rate (recipients whose
sent_at falls in the window / SECONDS) without and with readers and their ratio, each
endpoint's p95 under load and its p50 alone (3 requests each, one at a time, in the warm-up:
the send is running, the readers are not), the CPU split (worker, web, sandbox, PostgreSQL
with its exited backends, Redis, readers, and the whole machine) in both windows.

Own database (BENCH_READ_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/broadcast_bench_read, emptied before and after), Redis
database 13. BENCH_READ_RECIPIENTS (default 1,000,000), BENCH_READ_SECONDS (default 60);
quick check: BENCH_READ_RECIPIENTS=100000 BENCH_READ_SECONDS=15.
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.databases import figures_in_child
from bench.engine_params import HOST, RATE, ROOT, WORKERS
from bench.engine_procs import (
    WorkerTree,
    free_port,
    machine_cpu,
    process_cpu,
    stop,
    tail,
    venv_python,
    wait_sandbox,
    wait_worker,
)
from bench.read_load_readers import REQUEST_TIMEOUT_S

N = int(os.environ.get("BENCH_READ_RECIPIENTS", "1000000"))
SECONDS = float(os.environ.get("BENCH_READ_SECONDS", "60"))
API_CLIENTS = int(os.environ.get("BENCH_READ_API_CLIENTS", "50"))
PAGES = int(os.environ.get("BENCH_READ_PAGES", "20"))
WARMUP_S = 8.0
REDIS_DB = 13
P95_TARGET_MS = 100.0
RATIO_TARGET = 0.95


def run() -> list[dict]:
    url = os.environ.get(
        "BENCH_READ_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/broadcast_bench_read"
    )
    return figures_in_child("bench.bench_read_load", url=url, redis_db=REDIS_DB, args=("child",))


def _reset() -> None:
    from django.core.management import call_command
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "postgresql" or not name.endswith("bench_read"):
        raise RuntimeError(f"refusing to empty {name!r}: not a *bench_read PostgreSQL database")
    call_command("flush", interactive=False, verbosity=0)


def _setup():
    """The loop bench's workspace, number (1,000 msg/s) and delivery_window template, a campaign
    of N recipients, and the readers' credentials: a JWT per API client, a session per page."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import Membership
    from bench.engine_setup import _campaign
    from bench.fixtures import tagged_account_and_template
    from whatsapp.sandbox.builtin_templates import TEMPLATES

    shape = next(t for t in TEMPLATES if (t["name"], t["language"]) == ("delivery_window", "en_US"))
    workspace, account, template = tagged_account_and_template(
        name="bench-read",
        tag=os.urandom(5).hex(),
        phone_digit="8",
        template_name=shape["name"],
        components=shape["components"],
        throughput=1000,
        messaging_limit_tier="unlimited",
    )
    template.category = shape["category"]
    template.save(update_fields=["category"])
    user = get_user_model().objects.create(username="bench-read")
    user.set_password(os.urandom(8).hex())
    user.save(update_fields=["password"])
    Membership.objects.create(user=user, workspace=workspace, role="owner")
    campaign = _campaign(workspace, account, template, N, prefix="+1766")
    tokens = [str(RefreshToken.for_user(user).access_token) for _ in range(API_CLIENTS)]
    cookies = []
    for _ in range(PAGES):
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return user, campaign, account.app_secret, tokens, cookies


def _epoch_dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _sent_between(campaign, t0: float, t1: float) -> int:
    from campaigns.models import Recipient

    return Recipient.objects.filter(
        campaign=campaign, sent_at__gte=_epoch_dt(t0), sent_at__lt=_epoch_dt(t1)
    ).count()


def _sleep_until(t: float) -> None:
    while (left := t - time.time()) > 0:
        time.sleep(min(left, 1.0))


def _child(result_path: str) -> None:
    import django

    django.setup()
    import redis as redis_lib
    import requests
    from django.conf import settings
    from django.core.management import call_command

    from bench.bench_loop import _start_sandbox, _start_web, _start_worker
    from campaigns.models import Campaign
    from campaigns.services.sending import campaign_send, campaign_stop

    call_command("migrate", verbosity=0)
    _reset()
    redis = redis_lib.Redis.from_url(settings.REDIS_URL)
    redis.flushdb()
    logs = [tempfile.TemporaryFile() for _ in range(4)]  # noqa: SIM115 (closed in finally)
    procs: list[subprocess.Popen] = []
    session = requests.Session()
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        reader_config = Path(f.name)
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        reader_out = Path(f.name)
    try:
        setup_started = time.monotonic()
        user, campaign, secret, tokens, cookies = _setup()
        print(f"   setup: {N:,} recipients in {time.monotonic() - setup_started:.1f} s", flush=True)
        web_port, sandbox_port = free_port(), free_port()
        web = _start_web(web_port, logs[0])
        procs.append(web)
        sandbox = _start_sandbox(sandbox_port, web_port, secret, logs[1])
        procs.append(sandbox)
        base = f"http://{HOST}:{sandbox_port}"
        wait_sandbox(session, base, sandbox)
        worker = _start_worker(base, logs[2])
        procs.append(worker)
        wait_worker(worker)
        _wait_web(session, f"http://{HOST}:{web_port}", web)

        t0 = time.time()
        baseline = (t0 + WARMUP_S, t0 + WARMUP_S + SECONDS)
        loaded = (baseline[1], baseline[1] + SECONDS)
        reader_config.write_text(
            json.dumps(
                {
                    "base": f"http://{HOST}:{web_port}",
                    "campaign": str(campaign.pk),
                    "tokens": tokens,
                    "cookies": cookies,
                    "cookie_name": settings.SESSION_COOKIE_NAME,
                    "probe_at": t0 + 3,
                    "probe_until": baseline[0] - 0.5,
                    "start_at": loaded[0],
                    "seconds": SECONDS,
                }
            )
        )
        # Started now, it sleeps until its window: its start-up is in the warm-up.
        readers = subprocess.Popen(
            [venv_python(), "-m", "bench.read_load_readers", str(reader_config),
             str(reader_out)],
            cwd=ROOT, env=dict(os.environ), stdout=logs[3], stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        procs.append(readers)
        campaign_send(user=user, campaign=campaign, worker_count=WORKERS, rate_limit=RATE)
        trees = {"worker": WorkerTree(worker.pid), "web": WorkerTree(web.pid)}
        trees["sandbox"] = WorkerTree(sandbox.pid)
        trees["readers"] = WorkerTree(readers.pid)

        def cpu_now() -> dict:
            return {k: t.cpu_seconds() for k, t in trees.items()} | {
                "postgres": process_cpu("postgres"),
                "redis": process_cpu("redis-server"),
                "all (machine)": machine_cpu(),
            }

        _sleep_until(baseline[0])
        cpu_a = cpu_now()
        _sleep_until(baseline[1])
        cpu_b = cpu_now()
        _sleep_until(loaded[1])
        cpu_c = cpu_now()
        readers.wait(timeout=REQUEST_TIMEOUT_S + 30)
        if readers.returncode != 0:
            raise RuntimeError(f"the readers exited with code {readers.returncode}")
        report = json.loads(reader_out.read_text())
        campaign_stop(user=user, campaign=Campaign.objects.get(pk=campaign.pk))
        time.sleep(2)  # a committed send's row is recorded before its sender stops
        sent_base = _sent_between(campaign, *baseline)
        sent_loaded = _sent_between(campaign, *loaded)
        cpu_base = {k: cpu_b[k] - cpu_a[k] for k in cpu_a}
        cpu_loaded = {k: cpu_c[k] - cpu_b[k] for k in cpu_a}
        cpu_loaded["readers"] = report["cpu_s"]  # its own figure: it may have exited
        cpu_base["readers"] = 0.0
        stats = session.get(f"{base}/__sandbox/stats", timeout=10).json()
        rows = _rows(
            report,
            sent_base / SECONDS,
            sent_loaded / SECONDS,
            cpu_base,
            cpu_loaded,
            stats.get("duplicate_sends", 0),
        )
        Path(result_path).write_text(json.dumps(rows))
    except Exception:
        for name, log in zip(("web", "sandbox", "worker", "readers"), logs, strict=True):
            print(f"--- {name} log ---\n{tail(log)}", file=sys.stderr)
        raise
    finally:
        for proc in reversed(procs):
            stop(proc)
        for log in logs:
            log.close()
        reader_config.unlink(missing_ok=True)
        reader_out.unlink(missing_ok=True)
        redis.flushdb()
        redis.close()
        _reset()


def _wait_web(session, base: str, proc) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {proc.returncode}")
        with contextlib.suppress(Exception):
            session.get(f"{base}/accounts/login/", timeout=1)
            return
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer within 30 s")


def _pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, max(0, round(q * len(sorted_ms) + 0.5) - 1))]


def _rows(report: dict, base_rate: float, loaded_rate: float, cpu_base, cpu_loaded, dups):
    by_kind: dict[str, list[float]] = {"api": [], "page": []}
    by_endpoint: dict[str, list[float]] = {}
    errors = 0
    for kind, endpoint, status, ms in report["requests"]:
        if 200 <= status < 300:
            by_kind[kind].append(ms)
            by_endpoint.setdefault(f"{kind} {endpoint}", []).append(ms)
        else:
            errors += 1
    for values in (*by_kind.values(), *by_endpoint.values()):
        values.sort()
    seconds = report["seconds"]
    rows = []
    for kind, label in (("api", f"{API_CLIENTS} API clients"), ("page", f"{PAGES} pages")):
        ms = by_kind[kind]
        for q in (0.5, 0.95, 0.99):
            p95 = q == 0.95
            value = _pct(ms, q)
            rows.append(
                {"name": f"read: {label}, p{round(q * 100)}", "value": value, "unit": "ms",
                 "target": f"< {P95_TARGET_MS:g}" if p95 else "",
                 "ok": (value < P95_TARGET_MS and bool(ms)) if p95 else None}
            )  # fmt: skip
        rows.append(
            {"name": f"read: {label}, requests/s (2xx)", "value": len(ms) / seconds,
             "unit": "req/s", "target": "", "ok": None}
        )  # fmt: skip
    rows.append(
        {"name": "read: errors (non-2xx or failed requests)", "value": float(errors),
         "unit": "requests", "target": "0", "ok": errors == 0}
    )  # fmt: skip
    ratio = 100 * loaded_rate / max(base_rate, 1e-9)
    rows += [
        {"name": "read: msg/s sent, no readers (baseline)", "value": base_rate,
         "unit": "msg/s", "target": "", "ok": None},
        {"name": "read: msg/s sent, with the readers", "value": loaded_rate,
         "unit": "msg/s", "target": "", "ok": None},
        {"name": "read: send rate with readers / without", "value": ratio, "unit": "%",
         "target": f">= {RATIO_TARGET:.0%}", "ok": ratio >= 100 * RATIO_TARGET},
        {"name": "read: duplicate sends (sandbox)", "value": float(dups), "unit": "sends",
         "target": "0", "ok": dups == 0},
    ]  # fmt: skip
    for endpoint, ms in sorted(by_endpoint.items()):
        rows.append(
            {"name": f"read: {endpoint}, p95"[:52], "value": _pct(ms, 0.95), "unit": "ms",
             "target": "", "ok": None}
        )  # fmt: skip
    alone: dict[str, list[float]] = {}
    for kind, endpoint, status, ms in report["probes"]:
        if 200 <= status < 300:
            alone.setdefault(f"{kind} {endpoint}", []).append(ms)
    for endpoint, ms in sorted(alone.items()):
        rows.append(
            {"name": f"read: {endpoint} alone, p50"[:52], "value": sorted(ms)[len(ms) // 2],
             "unit": "ms", "target": "", "ok": None}
        )  # fmt: skip
    cores = os.cpu_count() or 1
    for phase, cpu in (("no readers", cpu_base), ("readers", cpu_loaded)):
        for name, secs in cpu.items():
            if phase == "no readers" and name == "readers":
                continue
            rows.append(
                {"name": f"read: CPU {name}, {phase} (% of {cores} cores)",
                 "value": 100 * secs / max(SECONDS * cores, 1e-9), "unit": "%", "target": "",
                 "ok": None}
            )  # fmt: skip
    return rows


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    _child(sys.argv[2])
