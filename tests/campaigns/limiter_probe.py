"""Run in separate processes by test_limiter: take slots from a shared limiter for a while
and return the wall-clock time of every grant."""

import asyncio
import time


def take_slots(redis_url: str, campaign_id: str, rate: int, seconds: float) -> list[float]:
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
        grants = []
        end = time.time() + seconds
        while time.time() < end:
            wait = await limiter.try_acquire()
            if wait <= 0:
                grants.append(time.time())
            else:
                await asyncio.sleep(wait)
        await redis.aclose()
        return grants

    return asyncio.run(main())
