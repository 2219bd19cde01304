"""The read-load benchmark's readers (bench/bench_read_load.py), in a process of their own
with no Django: 50 API clients and 20 dashboard pages polling one campaign, each request's
latency and status recorded. `python -m bench.read_load_readers CONFIG RESULT` (JSON files).
"""

import asyncio
import contextlib
import json
import os
import random
import sys
import time
from pathlib import Path

API_INTERVAL_S = float(os.environ.get("BENCH_READ_API_INTERVAL", "1.0"))
LIVE_INTERVAL_S = 2.0  # _live.html: hx-trigger="every 2s"
CHARTS_INTERVAL_S = 3.0  # static/js/campaign.js: setTimeout(tick, 3000)
PROBE_ROUNDS = 3  # each endpoint alone, in the warm-up (median of 3)
REQUEST_TIMEOUT_S = 10.0


async def _readers(cfg: dict) -> dict:
    import aiohttp

    base, cid, seconds = cfg["base"], cfg["campaign"], cfg["seconds"]
    api_paths = [
        ("campaign", f"/api/v1/campaigns/{cid}/"),
        ("stats", f"/api/v1/campaigns/{cid}/stats/"),
        ("recipients?status=delivered", f"/api/v1/campaigns/{cid}/recipients/?status=delivered"),
        ("campaigns list", "/api/v1/campaigns/"),
    ]
    page_paths = [
        ("campaign page", f"/campaigns/{cid}/", {}),
        ("live fragment", f"/campaigns/{cid}/live/?shown=running", {"HX-Request": "true"}),
        ("charts' stats", f"/api/v1/campaigns/{cid}/stats/", {"Accept": "application/json"}),
    ]
    records: list[tuple[str, str, int, float]] = []

    async def get(http, kind: str, name: str, path: str, headers: dict) -> None:
        started = time.perf_counter()
        status = 0
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(base + path, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                status = resp.status
        records.append((kind, name, status, 1000 * (time.perf_counter() - started)))

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    # In the warm-up, before the baseline: each endpoint alone, one request at a time.
    await asyncio.sleep(max(0.0, cfg["probe_at"] - time.time()))
    async with aiohttp.ClientSession(timeout=timeout) as http:
        api = {"Authorization": f"Bearer {cfg['tokens'][0]}", "Accept": "application/json"}
        cookie = {"Cookie": f"{cfg['cookie_name']}={cfg['cookies'][0]}"}
        probes = [("api", n, p, api) for n, p in api_paths]
        probes += [("page", n, p, {**cookie, **h}) for n, p, h in page_paths]
        for _ in range(PROBE_ROUNDS):
            for kind, name, path, headers in probes:
                if time.time() > cfg["probe_until"]:
                    break
                await get(http, kind, name, path, headers)
    probed, records = records, []
    await asyncio.sleep(max(0.0, cfg["start_at"] - time.time()))
    end = time.monotonic() + seconds

    async def api_client(token: str, n: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            tick = time.monotonic() + random.uniform(0, API_INTERVAL_S)
            while True:
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
                if time.monotonic() >= end:
                    return
                name, path = api_paths[n % len(api_paths)]
                n += 1
                await get(http, "api", name, path, headers)
                tick = max(tick + API_INTERVAL_S, time.monotonic())

    async def poll(http, name: str, path: str, headers: dict, interval: float) -> None:
        while time.monotonic() < end:
            await get(http, "page", name, path, headers)
            await asyncio.sleep(interval)

    async def page(cookie: str) -> None:
        headers = {"Cookie": f"{cfg['cookie_name']}={cookie}"}
        connector = aiohttp.TCPConnector(limit=2)  # the browser's two pollers
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            await asyncio.sleep(random.uniform(0, LIVE_INTERVAL_S))
            await get(http, "page", "campaign page", f"/campaigns/{cid}/", headers)
            live = {**headers, "HX-Request": "true", "HX-Target": "live"}
            charts = {**headers, "Accept": "application/json"}
            await asyncio.gather(
                poll(http, "live fragment", f"/campaigns/{cid}/live/?shown=running", live,
                     LIVE_INTERVAL_S),
                poll(http, "charts' stats", f"/api/v1/campaigns/{cid}/stats/", charts,
                     CHARTS_INTERVAL_S),
            )  # fmt: skip

    cpu0 = time.process_time()
    started = time.monotonic()
    await asyncio.gather(
        *(api_client(t, i) for i, t in enumerate(cfg["tokens"])),
        *(page(c) for c in cfg["cookies"]),
    )
    return {
        "probes": probed,
        "requests": records,
        "seconds": time.monotonic() - started,
        "cpu_s": time.process_time() - cpu0,
    }


if __name__ == "__main__":
    config = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(asyncio.run(_readers(config))))
