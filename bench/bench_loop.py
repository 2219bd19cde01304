"""The full loop (issue 18) on this machine: a 100,000-recipient campaign at rate_limit=1000
sent by a real Celery worker to the sandbox (50 ms latency), which posts the sent, delivered
and read webhooks back to our receiver (gunicorn with gunicorn.conf.py and config.wsgi's fast
path), whose events the same worker drains into the recipients and the counters.

Figures: the sustained send rate (first send to last recorded) and its share of the limit
and of the webhooks-off engine figure (the `engine` benchmark's, when bench/results.json has
one); webhooks acknowledged per second; the lag from a webhook's arrival to its statuses in
the counters (received_at → processed_at, p50 / p99); the CPU split between the worker, the
web server, the sandbox and PostgreSQL; nothing sent twice, the counters equal a recount.

Like the engine benchmark it runs itself in a child process on its own database
(BENCH_LOOP_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/broadcast_bench_loop,
emptied before and after) and Redis database 12. BENCH_LOOP_RECIPIENTS changes N.
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.databases import figures_in_child
from bench.engine_params import HOST, LATENCY_MS, RATE, ROOT, WORKERS
from bench.engine_procs import (
    WorkerTree,
    free_port,
    process_cpu,
    stop,
    tail,
    venv_python,
    wait_sandbox,
    wait_worker,
)

N = int(os.environ.get("BENCH_LOOP_RECIPIENTS", "100000"))
REDIS_DB = 12
TIMEOUT_S = 600
CONCURRENCY = int(os.environ.get("BENCH_LOOP_WORKER_CONCURRENCY", "4"))
LAG_TARGET_P99_S = 5.0


def run() -> list[dict]:
    url = os.environ.get(
        "BENCH_LOOP_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/broadcast_bench_loop"
    )
    return figures_in_child("bench.bench_loop", url=url, redis_db=REDIS_DB, args=())


def _reset() -> None:
    from django.core.management import call_command
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "postgresql" or not name.endswith("bench_loop"):
        raise RuntimeError(f"refusing to empty {name!r}: not a *bench_loop PostgreSQL database")
    call_command("flush", interactive=False, verbosity=0)


def _setup():
    """The bench's user, and its campaign of N recipients for delivery_window (as a template
    sync from the sandbox stores it) on a number that takes 1,000 msg/s."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership
    from bench.engine_setup import _campaign
    from bench.fixtures import tagged_account_and_template
    from whatsapp.sandbox.builtin_templates import TEMPLATES

    shape = next(t for t in TEMPLATES if (t["name"], t["language"]) == ("delivery_window", "en_US"))
    workspace, account, template = tagged_account_and_template(
        name="bench-loop",
        tag=os.urandom(5).hex(),
        phone_digit="8",
        template_name=shape["name"],
        components=shape["components"],
        throughput=1000,
        messaging_limit_tier="unlimited",
    )
    template.category = shape["category"]
    template.save(update_fields=["category"])
    user = get_user_model().objects.create(username="bench-loop")
    Membership.objects.create(user=user, workspace=workspace, role="owner")
    return user, _campaign(workspace, account, template, N, prefix="+1755"), account.app_secret


def _start_web(port: int, log) -> subprocess.Popen:
    gunicorn = str(Path(venv_python()).parent / "gunicorn")
    cmd = [gunicorn, "--config", "gunicorn.conf.py", "config.wsgi", "--bind", f"{HOST}:{port}"]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _start_sandbox(port: int, web_port: int, secret: str, log) -> subprocess.Popen:
    cmd = [venv_python(), "manage.py", "whatsapp_sandbox", "--host", HOST, "--port", str(port)]
    cmd += ["--mps", "100000", "--latency-ms", str(LATENCY_MS), "--no-failing-numbers"]
    cmd += ["--seed", "1", "--app-secret", secret]
    cmd += ["--webhook-url", f"http://{HOST}:{web_port}/webhooks/whatsapp/"]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _start_worker(sandbox_url: str, log) -> subprocess.Popen:
    """The worker as Procfile.dev runs it (4 processes: the campaign's two senders and the
    webhook drains side by side), with beat."""
    env = {**os.environ, "WHATSAPP_GRAPH_URL": sandbox_url}
    celery = str(Path(venv_python()).parent / "celery")
    cmd = [celery, "-A", "config", "worker", "--concurrency", str(CONCURRENCY)]
    cmd += ["--loglevel", "WARNING", "-n", f"bench-loop-{os.getpid()}@%h"]
    cmd += ["--without-gossip", "--without-mingle"]
    # With beat, as production runs it: its drain every WEBHOOK_DRAIN_INTERVAL_SECONDS picks up
    # the last events of a burst, which arrive after the receiver's debounced call for one.
    cmd += ["--beat", "--schedule", str(Path(tempfile.gettempdir()) / f"bench-loop-{os.getpid()}")]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _child(result_path: str) -> None:
    import django

    django.setup()
    import redis as redis_lib
    import requests
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Campaign
    from campaigns.services.sending import campaign_send
    from campaigns.tracking.counters import counts_from_recipients, stored_counts
    from webhooks.models import WebhookEvent

    call_command("migrate", verbosity=0)
    _reset()
    redis = redis_lib.Redis.from_url(settings.REDIS_URL)
    redis.flushdb()
    logs = [tempfile.TemporaryFile() for _ in range(3)]  # noqa: SIM115 (closed in finally)
    procs: list[subprocess.Popen] = []
    session = requests.Session()
    try:
        user, campaign, secret = _setup()
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
        trees = {"worker": WorkerTree(worker.pid), "web": WorkerTree(web.pid)}
        trees["sandbox"] = WorkerTree(sandbox.pid)
        cpu0 = {k: t.cpu_seconds() for k, t in trees.items()}
        cpu0["postgres"] = process_cpu("postgres")
        wall0 = time.monotonic()

        campaign_send(user=user, campaign=campaign, worker_count=WORKERS, rate_limit=RATE)
        deadline = time.monotonic() + TIMEOUT_S
        done = False
        while time.monotonic() < deadline and not done:
            time.sleep(1)
            row = Campaign.objects.values(
                "status", "pending_count", "sending_count", "delivered_count", "read_count"
            ).get(pk=campaign.pk)
            hooks = session.get(f"{base}/__sandbox/stats", timeout=10).json()["webhooks"]
            backlog = WebhookEvent.objects.filter(status__in=["pending", "failed"]).exists()
            done = (
                row["status"] == "completed"
                and hooks.get("idle")
                and hooks.get("in_flight_posts", 0) == 0
                and not backlog
            )
        wall = time.monotonic() - wall0
        cpu = {k: t.cpu_seconds() - cpu0[k] for k, t in trees.items()}
        cpu["postgres"] = process_cpu("postgres") - cpu0["postgres"]
        stats = session.get(f"{base}/__sandbox/stats", timeout=10).json()
        figures = _figures(campaign, stats, cpu, wall, connection)
        figures["counters_ok"] = stored_counts(campaign_id=campaign.pk) == counts_from_recipients(
            campaign_id=campaign.pk
        )
        figures["finished"] = done
        Path(result_path).write_text(json.dumps(_rows(figures)))
    except Exception:
        for name, log in zip(("web", "sandbox", "worker"), logs, strict=True):
            print(f"--- {name} log ---\n{tail(log)}", file=sys.stderr)
        raise
    finally:
        for proc in reversed(procs):
            stop(proc)
        for log in logs:
            log.close()
        redis.flushdb()
        redis.close()
        _reset()


def _figures(campaign, stats, cpu, wall, connection) -> dict:
    from django.db.models import Max, Min

    from campaigns.models import Recipient
    from webhooks.models import WebhookEvent

    rows = Recipient.objects.filter(campaign=campaign)
    span = rows.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    sent = rows.exclude(sent_at=None).count()
    send_s = max((span["last"] - span["first"]).total_seconds(), 1e-9) if sent else 1e-9
    events = WebhookEvent.objects.aggregate(first=Min("received_at"), last=Max("received_at"))
    posts = WebhookEvent.objects.count()
    hook_s = (
        max((events["last"] - events["first"]).total_seconds(), 1e-9) if events["first"] else 1e-9
    )
    with connection.cursor() as c:
        c.execute(
            """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),
                      percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)
               FROM (SELECT extract(epoch FROM processed_at - received_at) AS lag
                     FROM webhooks_webhookevent WHERE processed_at IS NOT NULL) AS lags"""
        )
        p50, p99 = c.fetchone()
    engine = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        previous = json.loads((ROOT / "bench" / "results.json").read_text())["engine"]
        engine = next(r["value"] for r in previous if "msg/s sent+recorded" in r["name"])
    return {
        "send_per_s": sent / send_s,
        "engine_per_s": engine,
        "sent": sent,
        "posts": posts,
        "posts_per_s": posts / hook_s,
        "statuses": stats["webhooks"].get("statuses_delivered", 0),
        "lag_p50": float(p50 or 0),
        "lag_p99": float(p99 or 0),
        "duplicates": stats["duplicate_sends"],
        "delivered_or_read": rows.filter(status__in=["delivered", "read"]).count(),
        "cpu": cpu,
        "wall": wall,
    }


def _rows(f: dict) -> list[dict]:
    cores = os.cpu_count() or 1
    rows = [
        {"name": "loop: msg/s sent (first send to last), webhooks on", "value": f["send_per_s"],
         "unit": "msg/s", "target": f">= {0.9 * RATE:,.0f}", "ok": f["send_per_s"] >= 0.9 * RATE},
    ]  # fmt: skip
    if f["engine_per_s"]:
        share = 100 * f["send_per_s"] / f["engine_per_s"]
        rows.append(
            {"name": "loop: share of the webhooks-off engine figure", "value": share,
             "unit": "%", "target": ">= 90%", "ok": share >= 90}
        )  # fmt: skip
    rows += [
        {"name": "loop: webhook POSTs acknowledged per second", "value": f["posts_per_s"],
         "unit": "POST/s", "target": "", "ok": None},
        {"name": "loop: statuses posted by the sandbox", "value": f["statuses"],
         "unit": "statuses", "target": "", "ok": None},
        {"name": "loop: lag arrival -> counters, p50", "value": f["lag_p50"], "unit": "s",
         "target": "", "ok": None},
        {"name": "loop: lag arrival -> counters, p99", "value": f["lag_p99"], "unit": "s",
         "target": f"< {LAG_TARGET_P99_S:g}", "ok": f["lag_p99"] < LAG_TARGET_P99_S},
        {"name": "loop: duplicate sends", "value": f["duplicates"], "unit": "sends",
         "target": "0", "ok": f["duplicates"] == 0},
        {"name": "loop: recipients delivered or read", "value": f["delivered_or_read"],
         "unit": "recipients", "target": f"{N:,}", "ok": f["delivered_or_read"] == N},
        {"name": "loop: counters equal a recount, backlog drained", "value":
         float(f["counters_ok"] and f["finished"]), "unit": "bool", "target": "1",
         "ok": f["counters_ok"] and f["finished"]},
    ]  # fmt: skip
    for name, seconds in f["cpu"].items():
        rows.append(
            {"name": f"loop: CPU {name} (share of {cores} cores over the run)",
             "value": 100 * seconds / max(f["wall"] * cores, 1e-9), "unit": "%", "target": "",
             "ok": None}
        )  # fmt: skip
    return rows


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    _child(sys.argv[1])
