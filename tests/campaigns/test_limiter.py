"""The Redis limiter is global: two processes sharing it stay under the rate together."""

import multiprocessing
import uuid

from django.conf import settings

from .limiter_probe import take_slots


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
        results = pool.starmap(take_slots, [(settings.REDIS_URL, campaign, rate, seconds)] * 2)
    grants = results[0] + results[1]
    assert results[0]
    assert results[1]  # both processes got slots: the limit is shared, not per process
    assert len(grants) <= rate * seconds + 1
    assert len(grants) >= 0.9 * rate * seconds
    assert max_in_any_window(grants) <= rate


def test_window_helper_counts_a_sliding_second():
    assert max_in_any_window([0.0, 0.5, 0.99, 1.0, 1.2]) == 4  # [0.5, 1.5)
