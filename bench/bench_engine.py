"""Benchmark of the sending engine (the README's performance targets): a 100,000-recipient
campaign at rate_limit=1000, worker_count=100, against the sandbox with 50 ms latency, sent by
real Celery worker processes on PostgreSQL and Redis.

Figures: end-to-end msg/s (from the first send to the last recipient recorded), the 1-second
windows over the limit (the sandbox's per-second timeline, and its sliding-window peak computed
from per-request timestamps), duplicates, lost recipients, and the worker processes' memory —
here and on a 1,000,000-recipient campaign sent for a minute, then stopped. In the same run, a
bare loop posts the same requests (same PayloadBuilder, same AsyncGraphSender, limit 100) to
the same sandbox: unpaced, and paced at 1,000/s by a local timer.

The benchmark runs itself in a child process so that it can point Django at its own database
(BENCH_ENGINE_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/broadcast_bench_engine;
emptied before and after) and its own Redis database (number 14 of REDIS_URL's server, flushed
before and after). The sandbox and the workers are subprocesses on 127.0.0.1, stopped in a
finally.

This module is the entry point (the parent, and the child's `_measure`); the parts live beside
it: engine_params (the constants), engine_procs (the sandbox and worker processes,
WorkerTree), engine_setup (the database and the campaigns), engine_loops (the bare loop and
the engine runs) and engine_figures (the rows reported).
"""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench.databases import ensure_database
from bench.engine_figures import figures
from bench.engine_loops import bare_loop, engine_main, engine_memory, payload_builder
from bench.engine_params import (
    BARE_PACED_NUMBER,
    BARE_UNPACED_NUMBER,
    HOST,
    MEMORY_SEND_S,
    N_MAIN,
    N_MEMORY,
    RATE,
    ROOT,
)
from bench.engine_procs import (
    WorkerTree,
    free_port,
    start_sandbox,
    start_worker,
    stop,
    tail,
    venv_python,
    wait_sandbox,
    wait_worker,
)
from bench.engine_setup import create_campaigns, measured_on_a_clean_slate

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/broadcast_bench_engine"
BENCH_REDIS_DB = 14


# --- the parent: re-run in a child with the bench database and Redis ----------------------


def _bench_redis_url() -> str:
    from django.conf import settings

    parts = urllib.parse.urlsplit(settings.REDIS_URL)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{BENCH_REDIS_DB}"))


def run() -> list[dict]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        result_path = out.name
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": ensure_database(
            os.environ.get("BENCH_ENGINE_DATABASE_URL", DEFAULT_DATABASE_URL)
        ),
        "REDIS_URL": _bench_redis_url(),
        "LOG_LEVEL": "WARNING",
        "BENCH_ENGINE_RESULT": result_path,
    }
    try:
        proc = subprocess.run([venv_python(), "-m", "bench.bench_engine"], cwd=ROOT, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"the engine benchmark exited with code {proc.returncode}")
        return json.loads(Path(result_path).read_text())
    finally:
        with contextlib.suppress(OSError):
            os.unlink(result_path)


# --- the child ------------------------------------------------------------------------------


def _child() -> list[dict]:
    return measured_on_a_clean_slate("bench_engine", _measure, figures)


def _measure(sandbox_log, worker_log) -> dict:
    import requests

    t0 = time.monotonic()
    user, (main, big) = create_campaigns()
    print(f"   inserted {N_MAIN + N_MEMORY:,} recipients in {time.monotonic() - t0:.1f} s")
    port = free_port()
    base = f"http://{HOST}:{port}"
    sandbox = start_sandbox(port, sandbox_log)
    worker = None
    session = requests.Session()
    try:
        wait_sandbox(session, base, sandbox)
        worker = start_worker(base, worker_log)
        wait_worker(worker)
        memory = WorkerTree(worker.pid)
        memory.sample()
        idle_mb = memory.samples[-1][1]

        builder = payload_builder(main.template)
        unpaced = asyncio.run(bare_loop(base, builder, BARE_UNPACED_NUMBER, paced=False, offset=7))
        print(f"   bare loop, unpaced: {json.dumps(unpaced)}")
        paced = asyncio.run(bare_loop(base, builder, BARE_PACED_NUMBER, paced=True, offset=8))
        print(f"   bare loop, paced at {RATE}/s: {json.dumps(paced)}")
        stats = session.get(f"{base}/__sandbox/stats", timeout=5).json()
        paced["peak_sliding"] = stats["peak_one_second_by_phone_number_id"].get(
            BARE_PACED_NUMBER, 0
        )

        engine = engine_main(session, base, user, main, memory)
        main_mem = memory.since(engine["since"])
        engine["peak_process_mb"] = max(s[1] for s in main_mem)
        engine["peak_tree_rss_mb"] = max(s[2] for s in main_mem)
        print(f"   engine, {N_MAIN:,}: {json.dumps(engine)}")
        big_run = engine_memory(session, base, user, big, memory)
        print(f"   engine, {N_MEMORY:,} for {MEMORY_SEND_S:.0f} s: {json.dumps(big_run)}")
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
    return {
        "idle_mb": idle_mb,
        "unpaced": unpaced,
        "paced": paced,
        "engine": engine,
        "big_run": big_run,
    }


if __name__ == "__main__":
    rows = _child()
    Path(os.environ["BENCH_ENGINE_RESULT"]).write_text(json.dumps(rows))
