"""Run in separate processes by test_limiter: take slots from a shared limiter for a while
the way a sender does, and return the wall-clock time of every slot granted."""

import asyncio
import time


async def slot_times(
    limiter, seconds: float, *, ahead: float, every: float, batch: int = 10
) -> list[float]:
    """Ask for slots as the sender does (`acquire` for a few recipients at once, `ahead`
    seconds ahead: its GRANT_AHEAD, with GRANT_EVERY as `every`) for `seconds`; returns each
    granted slot's time (time.monotonic()). Marks are distinct ints, like recipient ids."""
    times, mark, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        granted, wait = await limiter.acquire(list(range(mark, mark + batch)), ahead)
        times += granted
        mark += len(granted)
        if not granted:
            await asyncio.sleep(min(max(wait, every), 0.2))
        elif len(granted) < batch:
            await asyncio.sleep(every)
    return times


def take_slots(
    redis_url: str, campaign_id: str, rate: int, seconds: float, ahead: float, every: float
) -> list[float]:
    from redis.asyncio import Redis

    from campaigns.engine.limiter import RateLimiter

    async def main():
        redis = Redis.from_url(redis_url)
        limiter = RateLimiter(
            redis,
            campaign_id=campaign_id,
            rate=rate,
            phone_number_id=f"probe-{campaign_id}",
            throughput=1000,
        )
        times = await slot_times(limiter, seconds, ahead=ahead, every=every)
        await redis.aclose()
        to_wall = time.time() - time.monotonic()
        return [t + to_wall for t in times]

    return asyncio.run(main())
