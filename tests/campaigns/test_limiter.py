"""The Redis limiter is global: two processes sharing it stay under the rate together."""

import multiprocessing
import uuid

from django.conf import settings

from campaigns.engine.sender import GRANT_AHEAD, GRANT_EVERY

from .limiter_probe import slot_times, take_slots


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_two_processes_share_one_rate():
    rate, seconds = 50, 3.0
    campaign = uuid.uuid4().hex
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(
            take_slots,
            [(settings.REDIS_URL, campaign, rate, seconds, GRANT_AHEAD, GRANT_EVERY)] * 2,
        )
    grants = results[0] + results[1]
    assert results[0]
    assert results[1]  # both processes got slots: the limit is shared, not per process
    # GCRA spacing allows one slot per interval plus the first, over the span the slots cover
    # (the two processes start a little apart, so it can be longer than `seconds`).
    span = max(grants) - min(grants)
    assert len(grants) <= rate * span + 2
    assert len(grants) >= 0.9 * rate * seconds
    assert max_in_any_window(grants) <= rate


def test_window_helper_counts_a_sliding_second():
    assert max_in_any_window([0.0, 0.5, 0.99, 1.0, 1.2]) == 4  # [0.5, 1.5)


def _batch_grants(redis_url: str, limiters: list[dict], marks: list[int], horizon: float):
    """Ask each limiter in turn for slots for `marks`; returns {label: [(time, mark)]} and
    the members recorded in each campaign's marks set."""
    import asyncio

    from redis.asyncio import Redis

    from campaigns.engine.limiter import RateLimiter, marks_key

    async def main():
        redis = Redis.from_url(redis_url)
        made = {spec["campaign_id"]: RateLimiter(redis, **spec) for spec in limiters}
        grants = {cid: [] for cid in made}
        todo = {cid: list(marks) for cid in made}
        while any(todo.values()):
            for cid, limiter in made.items():
                if not todo[cid]:
                    continue
                times, wait = await limiter.acquire(todo[cid], horizon)
                grants[cid] += list(zip(times, todo[cid], strict=False))
                todo[cid] = todo[cid][len(times) :]
                if not times:
                    await asyncio.sleep(wait)
        recorded = {cid: {int(m) for m in await redis.smembers(marks_key(cid))} for cid in made}
        await redis.aclose()
        return grants, recorded

    return asyncio.run(main())


def test_batch_grants_are_spaced_and_every_mark_recorded():
    cid = uuid.uuid4().hex
    rate = 200  # 5 ms apart
    grants, recorded = _batch_grants(
        settings.REDIS_URL,
        [dict(campaign_id=cid, rate=rate, phone_number_id=f"n-{cid}", throughput=1000)],
        list(range(1, 101)),
        horizon=0.05,
    )
    times = [t for t, _ in grants[cid]]
    assert [m for _, m in grants[cid]] == list(range(1, 101))  # each mark got its own slot
    assert recorded[cid] == set(range(1, 101))
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # GCRA spacing holds inside a batch: never closer than the interval less the 2 ms tolerance
    assert min(gaps) >= 1 / rate - 0.0021
    assert times[-1] - times[0] >= 99 / rate * 0.95


def test_two_campaigns_on_one_number_share_its_throughput():
    number = f"n-{uuid.uuid4().hex}"
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    grants, _ = _batch_grants(
        settings.REDIS_URL,
        [
            dict(campaign_id=a, rate=1000, phone_number_id=number, throughput=100),
            dict(campaign_id=b, rate=1000, phone_number_id=number, throughput=100),
        ],
        list(range(60)),
        horizon=0.02,
    )
    both = sorted(t for cid in (a, b) for t, _ in grants[cid])
    assert len(both) == 120
    assert grants[a]
    assert grants[b]
    # 120 sends at the number's 100/s take at least ~1.2 s, whatever each campaign allows
    assert both[-1] - both[0] >= 1.15
    assert max_in_any_window(both) <= 100


def test_a_130429_slows_the_number_down_for_every_campaign_on_it():
    """After Meta's 130429 the number's bucket runs at half speed (SLOWDOWN_SECONDS)."""
    import asyncio

    from redis.asyncio import Redis

    from campaigns.engine.limiter import RateLimiter

    async def grants_in(limiter, seconds: float) -> int:
        return len(await slot_times(limiter, seconds, ahead=GRANT_AHEAD, every=GRANT_EVERY))

    async def main():
        redis = Redis.from_url(settings.REDIS_URL)
        number = f"n-{uuid.uuid4().hex}"
        first, second = (
            RateLimiter(
                redis,
                campaign_id=uuid.uuid4().hex,
                rate=1000,
                phone_number_id=number,
                throughput=100,
            )
            for _ in range(2)
        )
        normal = await grants_in(first, 1.0)
        await first.slow_down()
        slowed = await grants_in(second, 1.0)  # another campaign on the same number
        await redis.aclose()
        return normal, slowed

    normal, slowed = asyncio.run(main())
    assert 90 <= normal <= 101
    assert 40 <= slowed <= 55
