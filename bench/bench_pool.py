"""Benchmark of a campaign sending from several numbers (docs/architecture.md §4.7): a
100,000-recipient campaign sent from TWO numbers of one workspace and WABA, each with
throughput 1,000, the campaign at rate_limit 2,000 and worker_count 100 (each number's
ENGINE_SENDERS_PER_CAMPAIGN senders then have 100 requests in flight between them, as the
engine bench's one number has), against the sandbox with the engine bench's latency, sent
by real Celery worker processes (one per sender: 2 × ENGINE_SENDERS_PER_CAMPAIGN) on
PostgreSQL and Redis.

Figures: the end-to-end send rate (first send to last recipient recorded) and its share of
the unpaced bare loop run in the same bench (the engine's requests without the engine, with as
many in flight as the campaign's senders have together: what this machine's CPU can post to
the sandbox); per number, the sends the sandbox accepted, its busiest sliding one-second
window (at most its throughput) and the sent recipients that record it (`Recipient.number`,
equal to the sandbox's count); the campaign's busiest calendar second (at most its
rate_limit); duplicates; lost recipients (a recount: sent + failed + unknown + skipped must
be the total). On a 2-core machine 2,000 msg/s is not expected: the rate is reported against
the bare loop, without a target.

BENCH_POOL_RECIPIENTS (default 100,000) sets the campaign's size, for a small smoke run. Its
own database (BENCH_POOL_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/broadcast_bench_pool, created when missing, emptied before
and after) and Redis database (number 11 of REDIS_URL's server, flushed before and after); the
sandbox and the worker are subprocesses on 127.0.0.1, stopped in a finally. The parts are
the engine bench's (engine_params, engine_procs, engine_setup, engine_loops).
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from bench.databases import figures_in_child
from bench.engine_loops import bare_loop, engine_pool, payload_builder
from bench.engine_params import BARE_UNPACED_NUMBER, HOST, MAIN_TIMEOUT_S, RATE, WORKERS
from bench.engine_procs import (
    WorkerTree,
    free_port,
    start_sandbox,
    start_worker,
    stop,
    tail,
    wait_sandbox,
    wait_worker,
)
from bench.engine_setup import create_pool_campaign, measured_on_a_clean_slate

N = int(os.environ.get("BENCH_POOL_RECIPIENTS", "100000"))
NUMBERS = 2
THROUGHPUT = RATE  # each number's, as the engine bench's one number
POOL_RATE = NUMBERS * THROUGHPUT  # the campaign's rate_limit: the most its numbers may send
REDIS_DB = 11
# The campaign must end even on a slow machine: at least 250 msg/s.
TIMEOUT_S = max(MAIN_TIMEOUT_S, N / 250)


def run() -> list[dict]:
    url = os.environ.get(
        "BENCH_POOL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/broadcast_bench_pool"
    )
    return figures_in_child("bench.bench_pool", url=url, redis_db=REDIS_DB)


# --- the child ------------------------------------------------------------------------------


def _child() -> list[dict]:
    return measured_on_a_clean_slate("bench_pool", _measure, _figures)


def _measure(sandbox_log, worker_log) -> dict:
    import requests
    from django.conf import settings

    senders = max(1, settings.ENGINE_SENDERS_PER_CAMPAIGN)
    # One pool process per sender, all sending at once; each sender has
    # ceil(worker_count / senders) requests in flight (campaigns/engine/sender.py run_sender).
    processes = NUMBERS * senders
    in_flight = processes * -(-WORKERS // senders)
    t0 = time.monotonic()
    user, campaign, numbers = create_pool_campaign(N, numbers=NUMBERS, throughput=THROUGHPUT)
    print(f"   inserted {N:,} recipients in {time.monotonic() - t0:.1f} s")
    port = free_port()
    base = f"http://{HOST}:{port}"
    sandbox = start_sandbox(port, sandbox_log)
    worker = None
    session = requests.Session()
    try:
        wait_sandbox(session, base, sandbox)
        worker = start_worker(base, worker_log, concurrency=processes, name="bench-pool")
        wait_worker(worker)
        memory = WorkerTree(worker.pid)
        memory.sample()

        builder = payload_builder(campaign.template)
        unpaced = asyncio.run(
            bare_loop(base, builder, BARE_UNPACED_NUMBER, paced=False, offset=7, workers=in_flight)
        )
        print(f"   bare loop, unpaced, {in_flight} in flight: {json.dumps(unpaced)}")

        pool = engine_pool(
            session,
            base,
            user,
            campaign,
            numbers,
            memory,
            n=N,
            rate_limit=POOL_RATE,
            timeout=TIMEOUT_S,
        )
        pool["peak_process_mb"] = max(s[1] for s in memory.since(pool["since"]))
        print(f"   pool, {N:,} from {NUMBERS} numbers: {json.dumps(pool)}")
    except Exception:
        print("--- sandbox log ---\n" + tail(sandbox_log), file=sys.stderr)
        print("--- worker log ---\n" + tail(worker_log), file=sys.stderr)
        raise
    finally:
        if worker is not None:
            stop(worker)
        stop(sandbox)
        session.close()
    log = tail(worker_log, 10**7)
    if "Traceback" in log or "ERROR" in log:
        print("--- worker log (has errors) ---\n" + log[-3000:], file=sys.stderr)
    return {"unpaced": unpaced, "pool": pool, "in_flight": in_flight, "processes": processes}


def _figures(*, unpaced: dict, pool: dict, in_flight: int, processes: int) -> list[dict]:
    e2e = pool["e2e_per_s"]
    size = f"{N // 1000}k" if N >= 1000 else f"{N}"
    rows = [
        {
            "name": f"pool {size}, {NUMBERS} numbers: msg/s sent+recorded (e2e)",
            "value": e2e,
            "unit": "msg/s",
            "target": f"report (of {POOL_RATE:,})",
            "ok": None,
        },
        {
            "name": "pool: median full second (sandbox timeline)",
            "value": float(pool["steady_median_per_s"]),
            "unit": "msg/s",
            "target": None,
            "ok": None,
        },
        {
            "name": f"bare loop, unpaced (same client, limit {in_flight})",
            "value": unpaced["per_s"],
            "unit": "msg/s",
            "target": None,
            "ok": unpaced["errors"] == 0,
        },
        {
            "name": "pool / unpaced bare loop (the CPU ceiling)",
            "value": 100 * e2e / max(unpaced["per_s"], 1e-9),
            "unit": "%",
            "target": "report",
            "ok": None,
        },
        {
            "name": "pool: peak 1-s calendar window, all numbers",
            "value": float(pool["peak_calendar_second"]),
            "unit": "msg",
            "target": f"<= {POOL_RATE:,}",
            "ok": pool["peak_calendar_second"] <= POOL_RATE,
        },
    ]
    for i, number in enumerate(pool["numbers"], start=1):
        label = f"pool number {i} ({'own' if i == 1 else 'pool'})"
        share = 100 * number["accepted"] / max(pool["accepted_total"], 1)
        rows += [
            {
                "name": f"{label}: sends accepted ({share:.0f}%)",
                "value": float(number["accepted"]),
                "unit": "msg",
                "target": None,
                "ok": None,
            },
            {
                "name": f"{label}: peak sliding 1-s window",
                "value": float(number["peak_sliding"]),
                "unit": "msg",
                "target": f"<= {number['throughput']:,}",
                "ok": number["peak_sliding"] <= number["throughput"],
            },
            {
                "name": f"{label}: sent rows recording it",
                "value": float(number["recorded"]),
                "unit": "recipients",
                "target": f"= {number['accepted']:,} (sandbox)",
                "ok": number["recorded"] == number["accepted"],
            },
        ]
    rows += [
        {
            "name": "pool: sent rows recording another number or none",
            "value": float(pool["recorded_elsewhere"]),
            "unit": "recipients",
            "target": "0",
            "ok": pool["recorded_elsewhere"] == 0,
        },
        {
            "name": f"pool {size}: campaign completed",
            "value": float(pool["status"] == "completed"),
            "unit": "bool",
            "target": "1",
            "ok": pool["status"] == "completed",
        },
        {
            "name": "pool: duplicate sends (sandbox)",
            "value": float(pool["duplicates"]),
            "unit": "sends",
            "target": "0",
            "ok": pool["duplicates"] == 0,
        },
        {
            "name": "pool: lost (total - sent/failed/unknown/skipped)",
            "value": float(pool["lost"]),
            "unit": "recipients",
            "target": "0",
            "ok": pool["lost"] == 0,
        },
        {
            "name": f"pool: worker CPU per message ({processes} processes)",
            "value": pool["worker_cpu_ms_per_msg"],
            "unit": "ms",
            "target": None,
            "ok": None,
        },
        {
            "name": "pool: worker memory, largest process",
            "value": pool["peak_process_mb"],
            "unit": "MB",
            "target": None,
            "ok": None,
        },
    ]
    return rows


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    Path(sys.argv[-1]).write_text(json.dumps(_child()))
