"""The engine benchmarks' measurements: the bare loop (the engine's requests without the
engine), the engine bench's two runs (the N_MAIN campaign to the end; the N_MEMORY campaign
for MEMORY_SEND_S, then stopped), and the pool bench's run (a campaign sending from several
numbers, to the end)."""

import asyncio
import time

from bench.engine_params import (
    BARE_S,
    BARE_WARMUP_S,
    MAIN_TIMEOUT_S,
    MEMORY_SEND_S,
    N_MAIN,
    RATE,
    VALUES,
    WORKERS,
)
from bench.engine_procs import WorkerTree

# --- the bare loop --------------------------------------------------------------------------


def payload_builder(template):
    from whatsapp.payload import PayloadBuilder

    return PayloadBuilder(
        template_name=template.name,
        language=template.language,
        components=template.components,
        parameter_format=template.parameter_format,
    )


async def bare_loop(
    base_url: str, builder, number: str, *, paced: bool, offset: int, workers: int = WORKERS
) -> dict:
    """The engine's requests without the engine: build, post, count. Paced: a local timer
    launches RATE requests a second (at most `workers` in flight); unpaced: `workers` loops."""
    from whatsapp import callback
    from whatsapp.async_client import AsyncGraphSender

    counts = {"ok": 0, "measured": 0, "errors": 0}
    start = time.monotonic()
    measure_from = start + BARE_WARMUP_S
    stop_at = measure_from + BARE_S
    counter = iter(range(10**9))

    async with AsyncGraphSender(limit=workers, base_url=base_url) as graph:

        async def one():
            n = next(counter)
            values = {**VALUES, "body_param_2": f"PK-{n}"}
            payload = builder.build(f"+1{offset}{n:07d}", values, callback.encode(10**12 + n))
            try:
                await graph.send_template(
                    phone_number_id=number, access_token="bench-token", payload=payload
                )
            except Exception:
                counts["errors"] += 1
                return
            counts["ok"] += 1
            now = time.monotonic()
            if measure_from <= now < stop_at:
                counts["measured"] += 1

        if paced:
            slots = asyncio.Semaphore(workers)
            tasks: set[asyncio.Task] = set()
            launched = 0
            while (now := time.monotonic()) < stop_at:
                due = int((now - start) * RATE)
                while launched < due:
                    await slots.acquire()
                    task = asyncio.create_task(one())
                    tasks.add(task)
                    task.add_done_callback(lambda t: (tasks.discard(t), slots.release()))
                    launched += 1
                await asyncio.sleep(0.001)
            await asyncio.gather(*tasks)
        else:

            async def loop():
                while time.monotonic() < stop_at:
                    await one()

            await asyncio.gather(*(loop() for _ in range(workers)))
    return {"per_s": counts["measured"] / BARE_S, **counts}


# --- the engine runs ------------------------------------------------------------------------


def _counters(campaign_id) -> dict:
    from campaigns.models import Campaign

    return Campaign.objects.filter(pk=campaign_id).values(
        "status", "pending_count", "sending_count", "sent_count", "failed_count", "unknown_count"
    )[0]


def _accepted(session, base: str, numbers: list[str]) -> int:
    stats = session.get(f"{base}/__sandbox/stats", timeout=5).json()
    return sum(stats["accepted_by_phone_number_id"].get(n, 0) for n in numbers)


def send_to_the_end(
    session,
    base: str,
    user,
    campaign,
    memory: WorkerTree,
    *,
    numbers: list[str],
    n: int,
    rate_limit: int,
    timeout: float = MAIN_TIMEOUT_S,
) -> dict:
    """Send the campaign (worker_count WORKERS, `rate_limit`) and wait until its `n` recipients
    are recorded (at most `timeout` s) and it is completed, sampling the worker's memory. The
    first send is seen on the sandbox (the phone number ids `numbers`), the last recorded one
    in the database. Returns those times and the worker's CPU seconds."""
    from django.db.models import Max

    from campaigns.models import Recipient
    from campaigns.services.sending import campaign_send

    began = time.time()
    cpu_before = memory.cpu_seconds()
    campaign_send(user=user, campaign=campaign, worker_count=WORKERS, rate_limit=rate_limit)
    # The first send, to within one poll interval.
    before = time.time()
    first_send = None
    deadline = time.monotonic() + 30
    while first_send is None and time.monotonic() < deadline:
        seen = _accepted(session, base, numbers)
        now = time.time()
        if seen:
            first_send = (before + now) / 2
        before = now
        time.sleep(0.02)
    if first_send is None:
        raise RuntimeError("the engine sent nothing within 30 s")
    last_sample = 0.0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if time.monotonic() - last_sample >= 0.5:
            memory.sample()
            last_sample = time.monotonic()
        c = _counters(campaign.pk)
        if c["status"] == "completed" or (
            c["pending_count"] == 0
            and c["sending_count"] == 0
            and c["sent_count"] + c["failed_count"] + c["unknown_count"] == n
        ):
            break
        time.sleep(0.2)
    seen_done = time.time()
    cpu = memory.cpu_seconds() - cpu_before
    # The last sender marks the campaign completed once it has recorded its last outcome.
    deadline = time.monotonic() + 15
    while _counters(campaign.pk)["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.1)
    memory.sample()
    last = Recipient.objects.filter(campaign=campaign).aggregate(last=Max("sent_at"))["last"]
    return {
        "since": began,
        "first_send": first_send,
        "last_recorded": last.timestamp() if last else seen_done,
        "cpu": cpu,
    }


def timeline(stats: dict, first_send: float, last_recorded: float) -> tuple[list[int], int]:
    """The sandbox's accepted sends per calendar second (all numbers) from the first send to
    the last recorded, and the median of its full seconds (the first and the last are
    partial): the steady rate."""
    by_second = {int(k): v for k, v in stats["accepted_by_second"].items()}
    window = [v for s, v in by_second.items() if int(first_send) <= s <= int(last_recorded)]
    steady = sorted(window[1:-1]) or [0]
    return window, steady[len(steady) // 2]


def engine_main(session, base: str, user, campaign, memory: WorkerTree) -> dict:
    from campaigns.models import Recipient

    number = campaign.account.phone_number_id
    run = send_to_the_end(
        session, base, user, campaign, memory, numbers=[number], n=N_MAIN, rate_limit=RATE
    )
    first_send, last_recorded = run["first_send"], run["last_recorded"]
    rows = Recipient.objects.filter(campaign=campaign)
    sent = rows.filter(status="sent").count()
    stats = session.get(f"{base}/__sandbox/stats", params={"timeline": 1}, timeout=10).json()
    window, steady_median = timeline(stats, first_send, last_recorded)
    c = _counters(campaign.pk)
    return {
        "since": run["since"],
        "first_send": first_send,
        "last_recorded": last_recorded,
        "e2e_per_s": sent / max(last_recorded - first_send, 1e-9),
        "steady_median_per_s": steady_median,
        "sent": sent,
        "accepted": stats["accepted_by_phone_number_id"].get(number, 0),
        "lost": N_MAIN - sent,
        "not_sent_states": {k: c[k] for k in ("pending_count", "sending_count", "failed_count")}
        | {"unknown_count": c["unknown_count"]},
        "status": c["status"],
        "peak_calendar_second": max(window or [0]),
        "seconds_over": sum(1 for v in window if v > RATE),
        "peak_sliding": stats["peak_one_second_by_phone_number_id"].get(number, 0),
        "duplicates": stats["duplicate_sends"],
        "worker_cpu_ms_per_msg": 1000 * run["cpu"] / max(sent, 1),
        "timeline": window,
    }


def engine_pool(
    session,
    base: str,
    user,
    campaign,
    numbers: list,
    memory: WorkerTree,
    *,
    n: int,
    rate_limit: int,
    timeout: float,
) -> dict:
    """The pool bench's run: the campaign of `n` recipients sent from `numbers` (accounts, in
    the engine's order) to the end. Per number: the sandbox's accepted sends and busiest
    sliding second, and the sent recipients that record it (`Recipient.number`); overall,
    a recount of the recipients by status."""
    from django.db.models import Count

    from campaigns.models import Recipient

    ids = [a.phone_number_id for a in numbers]
    run = send_to_the_end(
        session,
        base,
        user,
        campaign,
        memory,
        numbers=ids,
        n=n,
        rate_limit=rate_limit,
        timeout=timeout,
    )
    first_send, last_recorded = run["first_send"], run["last_recorded"]
    rows = Recipient.objects.filter(campaign=campaign).order_by()
    recount = dict(rows.values_list("status").annotate(k=Count("id")))
    sent_states = ("sent", "delivered", "read")
    by_number = dict(
        rows.filter(status__in=sent_states).values_list("number_id").annotate(k=Count("id"))
    )
    stats = session.get(f"{base}/__sandbox/stats", params={"timeline": 1}, timeout=10).json()
    window, steady_median = timeline(stats, first_send, last_recorded)
    own = {a.pk for a in numbers}
    sent = sum(recount.get(s, 0) for s in sent_states)
    final = sent + sum(recount.get(s, 0) for s in ("failed", "unknown", "skipped"))
    c = _counters(campaign.pk)
    return {
        "since": run["since"],
        "first_send": first_send,
        "last_recorded": last_recorded,
        "e2e_per_s": sent / max(last_recorded - first_send, 1e-9),
        "steady_median_per_s": steady_median,
        "sent": sent,
        "recount": recount,
        "total_rows": sum(recount.values()),
        "lost": n - final,
        "status": c["status"],
        "numbers": [
            {
                "phone_number_id": a.phone_number_id,
                "throughput": a.throughput,
                "accepted": stats["accepted_by_phone_number_id"].get(a.phone_number_id, 0),
                "peak_sliding": stats["peak_one_second_by_phone_number_id"].get(
                    a.phone_number_id, 0
                ),
                "recorded": by_number.get(a.pk, 0),
            }
            for a in numbers
        ],
        # Sent rows that record no number, or one not among the campaign's.
        "recorded_elsewhere": sum(k for pk, k in by_number.items() if pk not in own),
        "accepted_total": sum(stats["accepted_by_phone_number_id"].get(i, 0) for i in ids),
        "peak_calendar_second": max(window or [0]),
        "seconds_over": sum(1 for v in window if v > rate_limit),
        "duplicates": stats["duplicate_sends"],
        "worker_cpu_ms_per_msg": 1000 * run["cpu"] / max(sent, 1),
        "timeline": window,
    }


def engine_memory(session, base: str, user, campaign, memory: WorkerTree) -> dict:
    from campaigns.services.sending import campaign_send, campaign_stop

    number = campaign.account.phone_number_id
    began = time.time()
    campaign_send(user=user, campaign=campaign, worker_count=WORKERS, rate_limit=RATE)
    end = time.monotonic() + MEMORY_SEND_S
    while time.monotonic() < end:
        memory.sample()
        time.sleep(0.5)
    campaign.refresh_from_db()
    campaign_stop(user=user, campaign=campaign)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _counters(campaign.pk)["sending_count"]:
        time.sleep(0.2)
    memory.sample()
    samples = memory.since(began)
    c = _counters(campaign.pk)
    stats = session.get(f"{base}/__sandbox/stats", timeout=10).json()
    early = [s for s in samples if s[0] - began <= 15] or samples
    late = [s for s in samples if s[0] - began >= MEMORY_SEND_S - 15] or samples
    return {
        "sent": c["sent_count"],
        "accepted": stats["accepted_by_phone_number_id"].get(number, 0),
        "left_sending": c["sending_count"],
        "status": c["status"],
        "peak_process_mb": max(s[1] for s in samples),
        "peak_tree_rss_mb": max(s[2] for s in samples),
        "peak_tree_pss_mb": max(s[3] for s in samples),
        "process_mb_first_15s": max(s[1] for s in early),
        "process_mb_last_15s": max(s[1] for s in late),
        "peak_sliding": stats["peak_one_second_by_phone_number_id"].get(number, 0),
        "duplicates": stats["duplicate_sends"],
    }
