"""Signals between the lifecycle services and running senders, through Redis.

A sender checks its campaign's halt flag a few times a second, so pause and stop take effect
within a second without a database query per check. The database status stays the truth;
the flag is only the fast path (and is re-derived from it by the sweeper).
"""

import logging

from config.redis import get_redis

from ..tracking import pending_statuses_apply

logger = logging.getLogger(__name__)

HALT_TTL = 7 * 24 * 3600
HEARTBEAT_TTL = 15


def halt_key(campaign_id) -> str:
    return f"engine:halt:{campaign_id}"


def halt(campaign_id) -> None:
    get_redis().set(halt_key(campaign_id), 1, ex=HALT_TTL)


def unhalt(campaign_id) -> None:
    get_redis().delete(halt_key(campaign_id))


async def is_halted(redis, campaign_id) -> bool:
    return bool(await redis.exists(halt_key(campaign_id)))


def heartbeat_key(campaign_id) -> str:
    return f"engine:senders:{campaign_id}"


# One live sender per (campaign, sender number): a resume right after a pause, or a sweeper
# restart, can enqueue a sender while the previous one (which never saw the halt) still runs;
# the newcomer then leaves at once. Held while running, refreshed with the heartbeat, expiring
# on its own if the worker dies.
SLOT_TTL = 30
_REFRESH_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def slot_key(campaign_id, sender_no: int) -> str:
    return f"engine:slot:{campaign_id}:{sender_no}"


# A sender task enqueued and not started yet holds no slot: this marker says it is on its way,
# so the sweep does not enqueue it again at every pass while the queue is busy. It expires by
# itself (QUEUED_TTL after the task was due): a task lost on the way (its worker died with it)
# is then replaced at the next pass, and a late one finds its slot taken and leaves at once.
QUEUED_TTL = 20


def queued_key(campaign_id, sender_no: int) -> str:
    return f"engine:queued:{campaign_id}:{sender_no}"


def mark_queued(campaign_id, sender_no: int, countdown: float = 0.0) -> None:
    get_redis().set(queued_key(campaign_id, sender_no), 1, ex=QUEUED_TTL + int(countdown))


def clear_queued(campaign_id, sender_no: int) -> None:
    get_redis().delete(queued_key(campaign_id, sender_no))


def senders_missing(campaign_id, sender_numbers) -> list[int]:
    """The sender numbers of a campaign with no live sender (no slot) and none on its way
    (no queued marker): those a dead worker or host took with it."""
    numbers = list(sender_numbers)
    redis = get_redis()
    with redis.pipeline(transaction=False) as pipe:
        for n in numbers:
            pipe.exists(slot_key(campaign_id, n), queued_key(campaign_id, n))
        found = pipe.execute()
    return [n for n, count in zip(numbers, found, strict=True) if not count]


def slot_take(campaign_id, sender_no: int, token: str) -> bool:
    return bool(get_redis().set(slot_key(campaign_id, sender_no), token, nx=True, ex=SLOT_TTL))


async def slot_refresh(redis, key: str, token: str) -> None:
    await redis.eval(_REFRESH_IF_MINE, 1, key, token, SLOT_TTL)


def slot_release(campaign_id, sender_no: int, token: str) -> None:
    get_redis().eval(_RELEASE_IF_MINE, 1, slot_key(campaign_id, sender_no), token)


def apply_early_statuses(wamids: list[str]) -> None:
    """Status webhooks that arrived before we recorded these wamids are applied now (beat
    retries them too, so a failure here only delays them)."""
    try:
        pending_statuses_apply(wamids=wamids)
    except Exception:  # never let webhook bookkeeping break the send loop
        logger.exception("applying early statuses failed")
