"""Benchmark of the webhook receiver and the drain (README performance target: ≥ 2,000 status
POSTs/s acknowledged with p99 < 100 ms; ≥ 5,000 statuses applied/s; counters equal a recount).

On PostgreSQL: the configured one, or `broadcast_bench_webhooks` on 127.0.0.1 (created when
missing, in a child process) when the suite runs on SQLite. It migrates the
database, creates an account, a running campaign and N recipients with wamids, serves
`config.wsgi` (with its webhook fast path, see `_wsgi_app`) with gunicorn and
the production settings (gunicorn.conf.py) on a free loopback port, and POSTs signed status
webhooks (sent, delivered and read for every recipient, shuffled, one status per POST as Meta
sends them, each body distinct and signed) with IN_FLIGHT in flight over keep-alive
connections, checking every response.

The client is bench/http_load.py, not aiohttp: it shares the two cores with the server (Meta's
senders do not), and aiohttp spent ~110 µs of CPU per POST against ~30 µs for it. The same
client against an empty WSGI app under the same gunicorn gives the machine's ceiling. CPU per
POST is reported for the client, gunicorn, PostgreSQL and everything else on the machine (a
large "other processes" figure means something else was running), and on PostgreSQL the
number of commits (group commit: webhooks/services/store.py).

Then DRAINERS processes drain the events, and every recipient must be `read` with counters
equal to a recount. Everything it created is deleted and every process it started is stopped,
whatever happens.
"""

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from bench import http_load
from bench.databases import rows_on_postgres
from bench.fixtures import tagged_account_and_template

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/broadcast_bench_webhooks"
PATH = "/webhooks/whatsapp/"
TARGET_POSTS = 2000.0
TARGET_P99_MS = 100.0
TARGET_APPLIED = 5000.0
IN_FLIGHT = 24
# The server runs with the production settings, gunicorn.conf.py (worker class, processes,
# threads, keep-alive, access log), on a loopback port; GUNICORN_CMD_ARGS overrides them as it
# would in production.
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
DRAINERS = 2  # drain processes, as two Celery worker processes would run side by side
SEND_LIMIT_S = 45.0
DRAIN_LIMIT_S = 60.0
# The drain queued by the receiver goes to a Redis database of its own, emptied afterwards,
# so no worker ever picks up the bench's tasks.
BENCH_REDIS_DB = 13


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _bench_redis_url() -> str:
    from django.conf import settings

    parts = urllib.parse.urlsplit(settings.REDIS_URL)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{BENCH_REDIS_DB}"))


def _gunicorn() -> str:
    venv = ROOT / ".venv" / "bin" / "gunicorn"
    return str(venv) if venv.exists() else str(Path(sys.executable).parent / "gunicorn")


def _wsgi_app() -> tuple[str, str]:
    """config.wsgi, which installs the webhook fast path (webhooks/wsgi.py): the figures are
    those of the fast path."""
    import config.wsgi

    if not getattr(config.wsgi.application, "webhook_fast_path", False):
        raise SystemExit("config.wsgi does not install the webhook fast path (webhooks/wsgi.py)")
    return "config.wsgi", "config.wsgi (with the webhook fast path)"


def _gunicorn_settings() -> str:
    conf = runpy.run_path(str(GUNICORN_CONF))
    out = (
        f"{GUNICORN_CONF.name}: {conf['worker_class']}, {conf['workers']} worker(s) "
        f"x {conf.get('threads', 1)} threads"
    )
    if os.environ.get("GUNICORN_CMD_ARGS"):
        out += f", GUNICORN_CMD_ARGS={os.environ['GUNICORN_CMD_ARGS']!r}"
    return out


def _start_gunicorn(app: str, port: int, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "REDIS_URL": _bench_redis_url(),
        "LOG_LEVEL": "WARNING",
    }
    cmd = [_gunicorn(), "--config", str(GUNICORN_CONF), app, "--bind", f"{HOST}:{port}"]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _setup(n: int):
    from django.db import connection

    from campaigns.models import Campaign, Recipient
    from campaigns.tracking import campaign_recount
    from webhooks.models import WebhookEvent

    tag = uuid.uuid4().hex[:10]
    workspace, account, template = tagged_account_and_template(
        name="bench-webhooks",
        tag=tag,
        phone_digit="8",
        template_name="bench",
        components=[],
        display_phone_number="15550001111",
    )
    campaign = Campaign.objects.create(
        workspace=workspace, account=account, template=template, name="bench", status="running"
    )
    Recipient.objects.bulk_create(
        (
            Recipient(
                campaign=campaign,
                phone=f"+1555{i:07d}",
                status="sent",
                wamid=f"wamid.bench.{tag}.{i}",
            )
            for i in range(n)
        ),
        batch_size=5000,
    )
    campaign_recount(campaign_id=campaign.pk)
    if connection.vendor == "postgresql":
        # Fresh statistics, and none of the dead rows earlier runs left behind (autovacuum
        # may be off on a development server): the steady state a live system would be in.
        with connection.cursor() as cursor:
            for model in (Recipient, WebhookEvent):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return workspace, account, campaign, tag


def _cleanup(workspace, account, campaign) -> None:
    from campaigns.models import Campaign, PendingStatus, Recipient
    from templates_app.models import MessageTemplate
    from webhooks.models import WebhookEvent

    WebhookEvent.objects.filter(account=account).delete()
    PendingStatus.objects.filter(account=account).delete()
    Recipient.objects.filter(campaign=campaign).delete()
    Campaign.objects.filter(pk=campaign.pk).delete()
    MessageTemplate.objects.filter(account=account).delete()
    account.delete()
    workspace.delete()


def _bodies(account, tag: str, n: int) -> list[tuple[bytes, str]]:
    secret = account.app_secret.encode()
    head = {"object": "whatsapp_business_account"}
    metadata = {"display_phone_number": "15550001111", "phone_number_id": account.phone_number_id}
    steps = [("sent", 0), ("delivered", 3), ("read", 40)]
    items = [(i, s, dt) for i in range(n) for s, dt in steps]
    random.Random(7).shuffle(items)  # any order: read before delivered is fine
    out = []
    for i, state, dt in items:
        status = {
            "id": f"wamid.bench.{tag}.{i}",
            "status": state,
            "timestamp": str(1764502301 + dt),
            "recipient_id": f"1555{i:07d}",
        }
        if state != "read":
            status["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
        value = {"messaging_product": "whatsapp", "metadata": metadata, "statuses": [status]}
        payload = {
            **head,
            "entry": [{"id": account.waba_id, "changes": [{"field": "messages", "value": value}]}],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        out.append((body, signature))
    return out


def _wait_ready(url: str, verify_token: str, proc: subprocess.Popen) -> None:
    query = urllib.parse.urlencode(
        {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": "ok"}
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}?{query}", timeout=5):
            return  # a 200 (anything else raises HTTPError, an OSError)
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s")


def _post_all(port: int, bodies: list[tuple[bytes, str]]) -> dict:
    """POST every body (its own signature in its headers) with IN_FLIGHT in flight, with the
    lean client of bench/http_load.py; the requests are built before the clock starts."""
    requests = http_load.build_requests(
        HOST,
        port,
        PATH,
        (
            (body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature})
            for body, signature in bodies
        ),
    )
    elapsed, statuses, latencies = asyncio.run(
        http_load.post_all(HOST, port, requests, IN_FLIGHT, SEND_LIMIT_S)
    )
    return {
        "elapsed": elapsed,
        "ok": statuses.get(200, 0),
        "statuses": statuses,
        "p50": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        if latencies
        else 0.0,
    }


def _drain_in_parallel() -> dict:
    """Run DRAINERS processes of `webhook_events_drain` until the backlog is empty; their
    summed counts and the wall time until the last one finished."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "REDIS_URL": _bench_redis_url(),
        "LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "bench.bench_webhooks", "drain"]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(DRAINERS)
    ]
    totals = {"events": 0, "statuses": 0, "failed": 0}
    for proc in procs:
        out, _ = proc.communicate(timeout=DRAIN_LIMIT_S + 30)
        counts = json.loads(out.strip().splitlines()[-1])
        for key in totals:
            totals[key] += counts[key]
    totals["seconds"] = time.perf_counter() - started
    return totals


def _drain_main() -> None:
    """One drain process (`python -m bench.bench_webhooks drain`): prints its counts."""
    import django

    django.setup()
    from webhooks.services import webhook_events_drain

    result = webhook_events_drain(batch_size=1000, max_seconds=DRAIN_LIMIT_S)
    counts = {
        "events": result.events,
        "statuses": result.statuses.statuses,
        "failed": result.failed,
    }
    print(json.dumps(counts))


def empty_app(environ, start_response):
    """The ceiling: a WSGI app that reads the body and answers 200, under the same gunicorn."""
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return [b""]


def _serve_and_post(app: str, bodies, verify_token: str, *, count_commits=True) -> dict:
    """Start gunicorn with `app`, POST `bodies`, stop it; the figures, CPU per POST and (with
    `count_commits`, on PostgreSQL) the number of transactions the server committed."""
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        proc = _start_gunicorn(app, port, log)
        try:
            _wait_ready(f"http://{HOST}:{port}{PATH}", verify_token, proc)
            commits = _commits() if count_commits else None
            cpu = _cpu_meter(proc.pid)
            sent = _post_all(port, bodies)
            sent["cpu"] = cpu()
        finally:
            _stop(proc)
        if commits is not None:  # the server's backends report their counts when they exit
            sent["commits"] = _commits() - commits
        if sent["ok"] != len(bodies):
            log.seek(0)
            print(log.read().decode(errors="replace")[-3000:])
    sent["rate"] = sent["ok"] / sent["elapsed"]
    return sent


def _commits() -> int | None:
    """Transactions committed in this PostgreSQL database so far (None on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def _cpu_meter(server_pid: int):
    """CPU seconds used from now by this process (the client), the server's process tree,
    PostgreSQL's processes and the whole machine (all of them, and the idle time)."""
    try:
        import psutil
    except ImportError:
        return lambda: None
    me = psutil.Process()
    server = psutil.Process(server_pid)
    tree = [server, *server.children(recursive=True)]

    def postgres() -> dict[int, float]:
        # Backends the server opens during the run start from zero; all live until the end.
        out = {}
        for p in psutil.process_iter(["name", "cpu_times"]):
            if p.info["name"] and p.info["name"].startswith("postgres") and p.info["cpu_times"]:
                out[p.pid] = sum(p.info["cpu_times"][:2])
        return out

    def busy_idle() -> tuple[float, float]:
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0), t.idle + getattr(t, "iowait", 0.0)

    pg_before = postgres()
    before = (sum(me.cpu_times()[:2]), sum(sum(p.cpu_times()[:2]) for p in tree), *busy_idle())

    def used() -> dict:
        pg = sum(t - pg_before.get(pid, 0.0) for pid, t in postgres().items())
        after = (sum(me.cpu_times()[:2]), sum(sum(p.cpu_times()[:2]) for p in tree), *busy_idle())
        client, server_s, busy, idle = (x - y for x, y in zip(after, before, strict=True))
        return {"client": client, "gunicorn": server_s, "postgres": pg, "busy": busy, "idle": idle}

    return used


def _report(label: str, sent: dict) -> None:
    print(
        f"   {label}: {sent['ok']:,} acknowledged in {sent['elapsed']:.1f} s "
        f"({sent['rate']:,.0f}/s), p50 {sent['p50']:.1f} ms, p99 {sent['p99']:.1f} ms, "
        f"responses {sent['statuses']}"
    )
    extra = []
    if sent.get("cpu"):
        # "other processes" is whatever else ran meanwhile (the kernel's own work included):
        # large, it means the figures are not this benchmark's alone.
        per = {k: v / max(sent["ok"], 1) * 1e6 for k, v in sent["cpu"].items()}
        other = per["busy"] - per["client"] - per["gunicorn"] - per["postgres"]
        load = sent["cpu"]["busy"] / max(sent["cpu"]["busy"] + sent["cpu"]["idle"], 1e-9)
        extra.append(
            f"CPU per POST: client {per['client']:.0f} us, gunicorn {per['gunicorn']:.0f} us, "
            f"postgres {per['postgres']:.0f} us, other processes {max(other, 0):.0f} us "
            f"(machine {100 * load:.0f}% busy)"
        )
    if sent.get("commits"):
        extra.append(
            f"{sent['commits']:,} commits ({sent['ok'] / sent['commits']:.1f} POSTs per commit)"
        )
    if extra:
        print(f"     {'; '.join(extra)}")


def run() -> list[dict]:
    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Recipient
    from campaigns.tracking import counts_from_recipients, stored_counts

    rows = rows_on_postgres("bench.bench_webhooks", BENCH_DATABASE_URL)
    if rows is not None:
        return rows
    call_command("migrate", verbosity=0)
    postgres = connection.vendor == "postgresql"
    n = 10_000 if postgres else 2_000
    db = "" if postgres else " (sqlite)"
    print(f"   database: {connection.vendor}; {n:,} recipients, {3 * n:,} status POSTs")
    app, app_label = _wsgi_app()
    print(f"   gunicorn {app_label}: {_gunicorn_settings()}")

    workspace, account, campaign, tag = _setup(n)
    try:
        bodies = _bodies(account, tag, n)
        sent = _serve_and_post(app, bodies, account.verify_token)
        _report("receiver", sent)
        ceiling = _serve_and_post(
            "bench.bench_webhooks:empty_app", bodies[: n * 2], "", count_commits=False
        )
        _report("empty WSGI app (ceiling)", ceiling)

        drained = _drain_in_parallel()
        applied = drained["statuses"] / drained["seconds"] if drained["seconds"] else 0.0
        print(
            f"   {DRAINERS} drain processes: {drained['events']:,} events, "
            f"{drained['statuses']:,} statuses in {drained['seconds']:.1f} s "
            f"({applied:,.0f}/s), {drained['failed']} failed"
        )
        all_read = not Recipient.objects.filter(campaign=campaign).exclude(status="read").exists()
        recount = counts_from_recipients(campaign_id=campaign.pk)
        consistent = all_read and stored_counts(campaign_id=campaign.pk) == recount
    finally:
        _cleanup(workspace, account, campaign)
        with contextlib.suppress(Exception):
            import redis

            redis.Redis.from_url(_bench_redis_url()).delete("celery", "webhooks:drain-queued")

    def row(name, value, unit, target=None, ok=None):
        return {"name": name + db, "value": value, "unit": unit, "target": target, "ok": ok}

    return [
        row(
            "status POSTs acknowledged/s",
            sent["rate"],
            "POST/s",
            f">= {TARGET_POSTS:,.0f}",
            sent["rate"] >= TARGET_POSTS and sent["ok"] == len(bodies),
        ),
        row("POST latency p50", sent["p50"], "ms"),
        row("POST latency p99", sent["p99"], "ms", f"< {TARGET_P99_MS:.0f}", sent["p99"] < 100),
        *(
            row(f"receiver CPU per POST, {who}", used / sent["ok"] * 1e6, "us")
            for who, used in (sent.get("cpu") or {}).items()
            if who in ("client", "gunicorn", "postgres") and sent["ok"]
        ),
        row("empty WSGI app, same gunicorn + client", ceiling["rate"], "POST/s"),
        row("receiver / empty-app ceiling", 100 * sent["rate"] / ceiling["rate"], "%"),
        row(
            "statuses applied/s (drain)",
            applied,
            "status/s",
            f">= {TARGET_APPLIED:,.0f}",
            applied >= TARGET_APPLIED and drained["failed"] == 0,
        ),
        row("all read, counters equal recount", float(consistent), "bool", "1", consistent),
    ]


if __name__ == "__main__" and sys.argv[1:] == ["drain"]:
    _drain_main()
