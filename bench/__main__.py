"""`make bench` (= `python -m bench [NAME…]`): run the benchmarks, print a table, write
bench/results.json.

Each module `bench/bench_<name>.py` exposes `run() -> list[dict]`; every dict is one figure:
`{"name": str, "value": float, "unit": str, "target": str | None, "ok": bool | None}`.
Benchmarks start what they need themselves (the sandbox, workers) on 127.0.0.1 only and stop
it when they finish.
"""

import importlib
import json
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

import django

HERE = Path(__file__).resolve().parent


def main(selected: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    django.setup()
    names = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(HERE)])
        if m.name.startswith("bench_")
    )
    if selected:
        names = [n for n in names if n in selected]
    results: dict[str, list[dict] | dict] = {}
    failed = False
    for name in names:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            rows = importlib.import_module(f"bench.bench_{name}").run()
        except Exception:  # a broken benchmark must not hide the others' figures
            traceback.print_exc()
            results[name] = {"error": traceback.format_exc()}
            failed = True
            continue
        results[name] = rows
        print(f"   ({time.monotonic() - started:.1f} s)")
    print()
    print(f"{'benchmark':<14} {'figure':<52} {'value':>14} {'unit':<10} {'target':<18} ok")
    for name, rows in results.items():
        if isinstance(rows, dict):
            print(f"{name:<14} {'ERROR':<52}")
            continue
        for row in rows:
            ok = {True: "yes", False: "NO", None: ""}[row.get("ok")]
            print(
                f"{name:<14} {row['name']:<52} {row['value']:>14,.1f} {row['unit']:<10} "
                f"{row.get('target') or '':<18} {ok}"
            )
    out = HERE / "results.json"
    # A run of some benchmarks keeps the others' latest figures.
    previous = {}
    if out.exists():
        try:
            previous = json.loads(out.read_text()).get("results", {})
        except (ValueError, AttributeError):
            previous = {}
    merged = {**previous, **results}
    out.write_text(json.dumps({"generated_at": time.time(), "results": merged}, indent=2))
    print(f"\nwrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
