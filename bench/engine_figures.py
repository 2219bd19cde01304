"""The engine benchmark's figures, from what bench/bench_engine.py measured."""

from bench.engine_params import (
    MEMORY_SEND_S,
    N_MAIN,
    N_MEMORY,
    RATE,
    TARGET_BARE,
    TARGET_RSS_MB,
    TARGET_SHARE,
)


def figures(*, idle_mb: float, unpaced: dict, paced: dict, engine: dict, big_run: dict):
    e2e = engine["e2e_per_s"]
    clean = engine["duplicates"] == 0 and engine["lost"] == 0 and big_run["duplicates"] == 0
    peak_mb = max(engine["peak_process_mb"], big_run["peak_process_mb"])
    return [
        {
            "name": f"engine {N_MAIN // 1000}k: msg/s sent+recorded (e2e)",
            "value": e2e,
            "unit": "msg/s",
            "target": f">= {TARGET_SHARE * RATE:,.0f}",
            "ok": e2e >= TARGET_SHARE * RATE,
        },
        {
            "name": "engine: median full second (sandbox timeline)",
            "value": float(engine["steady_median_per_s"]),
            "unit": "msg/s",
            "target": None,
            "ok": None,
        },
        {
            "name": "engine: peak 1-s window, calendar (timeline)",
            "value": float(engine["peak_calendar_second"]),
            "unit": "msg",
            "target": f"<= {RATE:,}",
            "ok": engine["peak_calendar_second"] <= RATE,
        },
        {
            "name": "engine: 1-s calendar windows above the limit",
            "value": float(engine["seconds_over"]),
            "unit": "windows",
            "target": "0",
            "ok": engine["seconds_over"] == 0,
        },
        {
            "name": "engine: peak sliding 1-s window (per request)",
            "value": float(engine["peak_sliding"]),
            "unit": "msg",
            "target": f"<= {RATE:,}",
            "ok": engine["peak_sliding"] <= RATE,
        },
        {
            "name": "engine: worker CPU per message (both cores' share)",
            "value": engine["worker_cpu_ms_per_msg"],
            "unit": "ms",
            "target": None,
            "ok": None,
        },
        {
            "name": "bare loop, unpaced (same client, limit 100)",
            "value": unpaced["per_s"],
            "unit": "msg/s",
            "target": None,
            "ok": unpaced["errors"] == 0,
        },
        {
            "name": f"bare loop, paced at {RATE:,}/s (local timer)",
            "value": paced["per_s"],
            "unit": "msg/s",
            "target": None,
            "ok": paced["errors"] == 0,
        },
        {
            "name": "bare loop, paced: peak sliding 1-s window",
            "value": float(paced["peak_sliding"]),
            "unit": "msg",
            "target": None,
            "ok": None,
        },
        {
            "name": "engine / paced bare loop (the target, see doc)",
            "value": 100 * e2e / max(paced["per_s"], 1e-9),
            "unit": "%",
            "target": f">= {TARGET_BARE:.0%}",
            "ok": e2e >= TARGET_BARE * paced["per_s"],
        },
        {
            "name": "engine / unpaced bare loop (information)",
            "value": 100 * e2e / max(unpaced["per_s"], 1e-9),
            "unit": "%",
            "target": None,
            "ok": None,
        },
        {
            "name": f"engine {N_MAIN // 1000}k: campaign completed",
            "value": float(engine["status"] == "completed"),
            "unit": "bool",
            "target": "1",
            "ok": engine["status"] == "completed",
        },
        {
            "name": "duplicate sends (sandbox)",
            "value": float(engine["duplicates"] + big_run["duplicates"]),
            "unit": "sends",
            "target": "0",
            "ok": engine["duplicates"] == 0 and big_run["duplicates"] == 0,
        },
        {
            "name": f"lost recipients ({N_MAIN:,} - sent)",
            "value": float(engine["lost"]),
            "unit": "recipients",
            "target": "0",
            "ok": engine["lost"] == 0 and engine["accepted"] == N_MAIN and clean,
        },
        {
            "name": "worker memory idle, largest process",
            "value": idle_mb,
            "unit": "MB",
            "target": None,
            "ok": None,
        },
        {
            "name": f"worker memory {N_MAIN // 1000}k, largest process",
            "value": engine["peak_process_mb"],
            "unit": "MB",
            "target": f"< {TARGET_RSS_MB:.0f}",
            "ok": engine["peak_process_mb"] < TARGET_RSS_MB,
        },
        {
            "name": f"worker memory {N_MEMORY // 10**6}M, largest process",
            "value": big_run["peak_process_mb"],
            "unit": "MB",
            "target": f"< {TARGET_RSS_MB:.0f}",
            "ok": big_run["peak_process_mb"] < TARGET_RSS_MB,
        },
        {
            "name": f"worker memory {N_MEMORY // 10**6}M, tree RSS (3 processes)",
            "value": big_run["peak_tree_rss_mb"],
            "unit": "MB",
            "target": None,
            "ok": None,
        },
        {
            "name": f"worker memory {N_MEMORY // 10**6}M, tree PSS",
            "value": big_run["peak_tree_pss_mb"],
            "unit": "MB",
            "target": None,
            "ok": None,
        },
        {
            "name": f"{N_MEMORY // 10**6}M: growth, last 15 s vs first 15 s",
            "value": big_run["process_mb_last_15s"] - big_run["process_mb_first_15s"],
            "unit": "MB",
            "target": None,
            "ok": peak_mb < TARGET_RSS_MB,
        },
        {
            "name": f"{N_MEMORY // 10**6}M: sent in {MEMORY_SEND_S:.0f} s, then stopped",
            "value": float(big_run["sent"]),
            "unit": "msg",
            "target": None,
            "ok": big_run["left_sending"] == 0 and big_run["accepted"] == big_run["sent"],
        },
        {
            "name": f"{N_MEMORY // 10**6}M: peak sliding 1-s window (per request)",
            "value": float(big_run["peak_sliding"]),
            "unit": "msg",
            "target": f"<= {RATE:,}",
            "ok": big_run["peak_sliding"] <= RATE,
        },
    ]
