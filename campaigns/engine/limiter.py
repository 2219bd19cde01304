"""The global rate limiter: GCRA in a Redis Lua script, shared by every worker everywhere.

Each send takes one slot from two buckets at once — the campaign's `rate_limit` and the
phone number's throughput (so campaigns on one number share it) — and, in the same atomic
step, records the recipient id in the campaign's "maybe sent" set. That mark is what crash
recovery reads: a recipient whose request may have left is never re-sent automatically.

Pacing runs at PACING_FACTOR of the configured rate, with a tolerance of at most 2 ms, so
that no one-second window can exceed the configured rate even with a little network jitter.
A sender asks for the slots of the next few milliseconds in one call (one Redis round trip per
handful of sends instead of one per send); each granted slot carries its own time, so the
sends still go out evenly spaced, and each recipient is still marked with its own slot.
Meta's 130429 slows the number's bucket to half speed for SLOWDOWN_SECONDS.
"""

import time
from collections.abc import Sequence

from redis.asyncio import Redis as AsyncRedis

PACING_FACTOR = 0.98
# GCRA lets a caller ask up to TOLERANCE early (so a late timer can catch up). With at most
# 2 ms of tolerance and pacing at 98 %, no one-second window can exceed the configured rate,
# with ~20 ms a second to spare for network jitter: floor(0.98·r·1.002) + 1 ≤ r for every r.
TOLERANCE_US = 2000
SLOWDOWN_SECONDS = 10

# KEYS: campaign bucket, number bucket, number slowdown flag, campaign marks set, the
# sender's lease (its heartbeat key; "" for none)
# ARGV: campaign interval µs, number interval µs, tolerance µs, horizon µs, member…
# A sender whose lease key is gone (it froze past it, and crash recovery may have handed its
# rows to another sender) gets {-1, now}: no slot, no mark, so nothing it holds leaves. The
# check and the marks are one atomic step, so a recovery cannot fall between them.
# Grants a slot to each member in turn, as long as the slot's time falls within `horizon` of
# now, and marks every granted member ("" marks nothing) in the same atomic step. Slots keep
# GCRA's spacing: granting n at once is exactly n single grants at their conforming times.
# Returns {n, now, offset₁ … offsetₙ}: n slots granted to the first n members, the i-th at
# offsetᵢ µs from now (Redis's clock, µs); or {0, now, µs to wait} when even the first slot
# is further out.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if KEYS[5] ~= '' and redis.call('EXISTS', KEYS[5]) == 0 then return {-1, now} end
local ci = tonumber(ARGV[1])
local ni = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[3]) == 1 then ni = ni * 2 end
-- a little tolerance absorbs the caller's timer jitter without allowing a burst
local tol = tonumber(ARGV[3])
local ctol = math.min(ci, tol)
local ntol = math.min(ni, tol)
local last = now + tonumber(ARGV[4])
local ctat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local ntat = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), now)
local out = {0, now}
local marks = {}
for i = 5, #ARGV do
  local at = math.max(ctat - ctol, ntat - ntol, now)
  if at > last then
    if out[1] == 0 then out[3] = at - last end
    break
  end
  ctat = math.max(ctat, at) + ci
  ntat = math.max(ntat, at) + ni
  out[1] = out[1] + 1
  out[#out + 1] = at - now
  if ARGV[i] ~= '' then marks[#marks + 1] = ARGV[i] end
end
if out[1] > 0 then
  redis.call('SET', KEYS[1], ctat, 'PX', math.floor((ctat - now) / 1000) + 5000)
  redis.call('SET', KEYS[2], ntat, 'PX', math.floor((ntat - now) / 1000) + 5000)
  if #marks > 0 then redis.call('SADD', KEYS[4], unpack(marks)) end
end
return out
"""


def marks_key(campaign_id) -> str:
    return f"engine:marks:{campaign_id}"


def interval_us(rate: float) -> int:
    return max(1, int(1_000_000 / (rate * PACING_FACTOR)))


class LeaseLost(Exception):
    """The sender's lease ended while it held rows: it must send none of them."""


class RateLimiter:
    """One campaign on one number; `acquire` hands out slots, each with the time it may go.
    With `lease_key`, only while that key exists (the sender's heartbeat): see _SCRIPT."""

    def __init__(
        self,
        redis: AsyncRedis,
        *,
        campaign_id,
        rate: int,
        phone_number_id: str,
        throughput: int,
        lease_key: str = "",
    ):
        self.redis = redis
        self.keys = [
            f"engine:rate:campaign:{campaign_id}",
            f"engine:rate:number:{phone_number_id}",
            f"engine:rate:number:{phone_number_id}:slow",
            marks_key(campaign_id),
            lease_key,
        ]
        self.campaign_interval = interval_us(rate)
        self.number_interval = interval_us(throughput)
        self._script = redis.register_script(_SCRIPT)

    async def acquire(
        self, marks: Sequence[int | str], horizon: float
    ) -> tuple[list[float], float]:
        """Slots for up to len(marks) sends due within `horizon` seconds, each mark recorded
        with its slot. Returns (times, wait): the first len(times) marks got a slot, the i-th
        to go at `times[i]` (time.monotonic(), the event loop's clock); with no slot granted,
        `wait` is how long until asking again can succeed.

        Slot times are Redis's; they are placed on our clock through the wall clock, which is
        exact when Redis runs on this host. Redis granted them while our call was on its way,
        so a result outside that interval means the clocks disagree: then they count from
        when the answer arrived, which can only make the sends late, never early.
        """
        sent, sent_wall = time.monotonic(), time.time()
        out = await self._script(
            keys=self.keys,
            args=[
                self.campaign_interval,
                self.number_interval,
                TOLERANCE_US,
                int(horizon * 1_000_000),
                *[str(m) for m in marks],
            ],
        )
        answered = time.monotonic()
        granted = int(out[0])
        if granted < 0:
            raise LeaseLost("the sender's lease ended: its rows may be another sender's now")
        if not granted:
            return [], int(out[2]) / 1_000_000
        at = sent + int(out[1]) / 1_000_000 - sent_wall
        if not sent <= at <= answered:
            at = answered
        return [at + int(x) / 1_000_000 for x in out[2 : granted + 2]], 0.0

    async def slow_down(self) -> None:
        await self.redis.set(self.keys[2], 1, ex=SLOWDOWN_SECONDS)


# KEYS: the portfolio's zset of phones reached (score = first send, unix seconds)
# ARGV: now, window seconds, limit, phone…
# Returns {allowed flags…, earliest second a slot frees up (0 if none used)}.
_TIER_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local out = {}
for i = 4, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    out[#out + 1] = 1
  elseif used < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[i])
    used = used + 1
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
redis.call('EXPIRE', KEYS[1], window + 60)
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
out[#out + 1] = first[2] and math.floor(tonumber(first[2]) + window) or 0
return out
"""

TIER_WINDOW_SECONDS = 24 * 3600


class TierGate:
    """The messaging limit: unique users reached per rolling 24 h, per WABA (Meta counts it
    per business portfolio, shared by its numbers). Users already reached in the window don't
    count again. Recipients over the limit are deferred until a slot frees up, never failed.

    It counts the sends this installation made; numbers reached by other tools on the same
    portfolio are invisible to it, so set the tier with that in mind.
    """

    def __init__(self, redis: AsyncRedis, *, waba_id: str, limit: int | None):
        self.limit = limit
        self.key = f"engine:tier:{waba_id}"
        self._script = redis.register_script(_TIER_SCRIPT)

    async def admit(self, phones: list[str], now: float) -> tuple[list[bool], float]:
        """Which phones may be sent now, and when the next slot frees up (unix seconds)."""
        if self.limit is None or not phones:
            return [True] * len(phones), 0.0
        out = await self._script(
            keys=[self.key], args=[int(now), TIER_WINDOW_SECONDS, self.limit, *phones]
        )
        return [bool(x) for x in out[:-1]], float(out[-1])
