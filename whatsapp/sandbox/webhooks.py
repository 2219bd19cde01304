"""Signed webhook delivery to `--webhook-url`, off the send path: schedule, batch, post, retry.

An accepted send schedules its statuses (sent → delivered → read, or failed) on a heap with
random delays; nothing is awaited on the send path. One scheduler task pops what is due
(plus whatever falls due within `batch_window`), groups statuses by phone number id into POSTs
of up to `batch_max`, signs each body once (`X-Hub-Signature-256: sha256=<HMAC of the raw
body>`) and queues it; `webhook_concurrency` sender tasks share one ClientSession. A POST that
is not answered 200 goes back on the heap with exponential backoff (capped) and is retried with
the same bytes until `retry_max_age`. At configurable rates a status is posted twice, a whole
POST is posted again, or the last two statuses of a message swap order (read before
delivered). `reset()` bumps a generation so POSTs in flight from before it are forgotten.
"""

import asyncio
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import random
import time
from collections.abc import Callable

import aiohttp

from . import numbers
from .config import SandboxConfig
from .events import messages_envelope, statuses_value
from .sent import SentMessages

logger = logging.getLogger(__name__)

ASYNC_FAILURES = {
    numbers.ASYNC_UNDELIVERABLE: 131026,
    numbers.ASYNC_MARKETING_CAP: 131049,
    numbers.HELD_DROPPED: 132015,  # a paced template's held message, dropped (§11.3)
}
_DUMPS = json.JSONEncoder(separators=(",", ":")).encode


class Post:
    """One webhook POST: its exact bytes, its signature and what it carries."""

    __slots__ = ("body", "signature", "statuses", "by_status", "attempts", "first_at", "gen", "dup")

    def __init__(self, body: bytes, secret: bytes, by_status: dict[str, int], gen: int):
        self.body = body
        self.signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        self.by_status = by_status
        self.statuses = sum(by_status.values())
        self.attempts = 0
        self.first_at = time.monotonic()
        self.gen = gen
        self.dup = False

    def duplicate(self) -> "Post":
        """The same bytes and signature, posted again as a new delivery."""
        again = Post.__new__(Post)
        again.body, again.signature = self.body, self.signature
        again.by_status, again.statuses = self.by_status, self.statuses
        again.attempts, again.first_at = 0, time.monotonic()
        again.gen, again.dup = self.gen, True
        return again


class WebhookDispatcher:
    def __init__(
        self, config: SandboxConfig, rng: random.Random, waba_id: Callable[[], str]
    ) -> None:
        self.config = config
        self.rng = rng
        self.waba_id = waba_id
        self._secret = config.app_secret.encode()
        # (due loop time, seq, phone number id or None, status item tuple or Post)
        self._heap: list[tuple] = []
        self._seq = itertools.count()
        self._ready: asyncio.Queue[Post] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._next_wake = float("inf")
        self._tasks: list[asyncio.Task] = []
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.generation = 0
        self.in_flight = 0
        # The messages handed over, for click events (POST /__sandbox/click).
        self.sent = SentMessages()
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.scheduled_statuses = 0  # on the heap, not yet in a POST
        self.pending_statuses = 0  # scheduled and not yet delivered (or dropped)
        self.pending_posts = 0  # built and not yet delivered (or dropped)
        self.retrying_posts = 0
        self.posts_delivered = 0
        self.statuses_delivered = 0
        self.delivered_by_status: dict[str, int] = {}
        self.event_posts_delivered = 0  # template status, inbound, user preferences
        self.attempts = 0
        self.failed_attempts = 0
        self.retries = 0
        self.dropped_posts = 0
        self.dropped_statuses = 0
        self.duplicate_posts = 0
        self.duplicate_statuses = 0
        self.last_error: str | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.config.webhook_concurrency),
            timeout=aiohttp.ClientTimeout(total=self.config.webhook_timeout),
            headers={"User-Agent": "facebookexternalua"},
        )
        self._tasks.append(asyncio.create_task(self._scheduler(), name="sandbox-scheduler"))
        for i in range(self.config.webhook_concurrency):
            self._tasks.append(asyncio.create_task(self._sender(), name=f"sandbox-sender-{i}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()

    def reset(self) -> None:
        self.generation += 1
        self._heap.clear()
        self.sent.reset()
        while not self._ready.empty():
            self._ready.get_nowait()
        self._reset_counters()

    # --- scheduling (called from request handlers; never awaits) ---------------------------

    def message_accepted(
        self,
        phone_number_id: str,
        wamid: str,
        wa_id: str,
        callback: str | None,
        category: str,
        behaviour: str,
    ) -> None:
        cfg, rng = self.config, self.rng
        self.sent.remember(phone_number_id, wamid, wa_id, callback)
        uniform = rng.uniform
        wall = time.time()
        failure = ASYNC_FAILURES.get(behaviour)
        if failure is not None:
            steps = [(uniform(*cfg.failed_delay), "failed")]
        else:
            t = uniform(*cfg.sent_delay)
            steps = [(t, "sent")]
            if behaviour != numbers.NEVER_DELIVERED:
                t += uniform(*cfg.delivered_delay)
                steps.append((t, "delivered"))
                if behaviour != numbers.NEVER_READ and rng.random() < cfg.read_share:
                    t += uniform(*cfg.read_delay)
                    steps.append((t, "read"))
        # Timestamps are the logical event times; only the posting order may be shuffled.
        items = [
            (wamid, status, int(wall + delay), wa_id, callback, category, failure)
            for delay, status in steps
        ]
        dues = [delay for delay, _ in steps]
        if len(dues) > 1 and cfg.reorder_rate and rng.random() < cfg.reorder_rate:
            dues[-1], dues[-2] = dues[-2], dues[-1]
        if cfg.duplicate_rate and rng.random() < cfg.duplicate_rate:
            k = rng.randrange(len(items))
            items.append(items[k])
            dues.append(dues[k] + uniform(*cfg.duplicate_delay))
            self.duplicate_statuses += 1
        now = self._loop.time()
        push, heap, seq = heapq.heappush, self._heap, self._seq
        earliest = now + min(dues)
        for item, delay in zip(items, dues, strict=True):
            push(heap, (now + delay, next(seq), phone_number_id, item))
        self.scheduled_statuses += len(items)
        self.pending_statuses += len(items)
        if earliest < self._next_wake:
            self._wake.set()

    def post_event(self, envelope: dict) -> None:
        """Queue a non-status webhook (template status, inbound message) right away."""
        post = Post(_DUMPS(envelope).encode(), self._secret, {}, self.generation)
        self.pending_posts += 1
        self._ready.put_nowait(post)

    def _push_post(self, post: Post, delay: float) -> None:
        due = self._loop.time() + delay
        heapq.heappush(self._heap, (due, next(self._seq), None, post))
        if due < self._next_wake:
            self._wake.set()

    # --- the scheduler task -----------------------------------------------------------------

    async def _scheduler(self) -> None:
        loop = self._loop
        heap = self._heap
        window = self.config.batch_window
        while True:
            now = loop.time()
            if heap and heap[0][0] <= now:
                try:
                    self._flush(now + window)
                except Exception:  # a bug here must not silently end all webhooks
                    logger.exception("webhook scheduler failed to flush")
            self._wake.clear()
            if not heap:
                self._next_wake = float("inf")
                await self._wake.wait()
                continue
            self._next_wake = heap[0][0]
            delay = self._next_wake - loop.time()
            if delay > 0:
                try:
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    def _flush(self, limit: float) -> None:
        heap, pop = self._heap, heapq.heappop
        groups: dict[str, list[tuple]] = {}
        while heap and heap[0][0] <= limit:
            _, _, number, payload = pop(heap)
            if number is None:  # a Post waiting for a retry or a duplicate
                if payload.attempts:
                    self.retrying_posts -= 1
                self._ready.put_nowait(payload)
                continue
            groups.setdefault(number, []).append(payload)
        cfg = self.config
        for number, items in groups.items():
            self.scheduled_statuses -= len(items)
            waba_id = self.waba_id()
            for start in range(0, len(items), cfg.batch_max):
                chunk = items[start : start + cfg.batch_max]
                by_status: dict[str, int] = {}
                for item in chunk:
                    by_status[item[1]] = by_status.get(item[1], 0) + 1
                envelope = messages_envelope(
                    waba_id=waba_id,
                    phone_number_id=number,
                    display_phone_number=cfg.display_phone_number,
                    value=statuses_value(chunk),
                )
                post = Post(_DUMPS(envelope).encode(), self._secret, by_status, self.generation)
                self.pending_posts += 1
                self._ready.put_nowait(post)

    # --- the sender tasks -------------------------------------------------------------------

    async def _sender(self) -> None:
        url = self.config.webhook_url
        while True:
            post = await self._ready.get()
            if post.gen != self.generation:
                continue
            post.attempts += 1
            self.attempts += 1
            self.in_flight += 1
            ok = False
            try:
                async with self._session.post(
                    url,
                    data=post.body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": post.signature,
                    },
                ) as resp:
                    await resp.read()
                    ok = resp.status == 200
                    if not ok:
                        self.last_error = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # keep the sender alive; the POST is retried
                logger.exception("webhook POST failed unexpectedly")
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self.in_flight -= 1
            if post.gen != self.generation:
                continue  # a reset happened while this POST was in flight
            if ok:
                self._delivered(post)
            else:
                self._failed(post)

    def _delivered(self, post: Post) -> None:
        self.pending_posts -= 1
        self.posts_delivered += 1
        if not post.statuses:
            self.event_posts_delivered += 1
        self.statuses_delivered += post.statuses
        self.pending_statuses -= post.statuses
        for status, n in post.by_status.items():
            self.delivered_by_status[status] = self.delivered_by_status.get(status, 0) + n
        cfg = self.config
        if not post.dup and cfg.duplicate_rate and self.rng.random() < cfg.duplicate_rate:
            # Meta sometimes posts the very same payload again.
            again = post.duplicate()
            self.duplicate_posts += 1
            self.pending_posts += 1
            self.pending_statuses += post.statuses
            self._push_post(again, self.rng.uniform(*cfg.duplicate_delay))

    def _failed(self, post: Post) -> None:
        self.failed_attempts += 1
        cfg = self.config
        if time.monotonic() - post.first_at > cfg.retry_max_age:
            self.pending_posts -= 1
            self.pending_statuses -= post.statuses
            self.dropped_posts += 1
            self.dropped_statuses += post.statuses
            logger.warning("webhook POST dropped after %d attempts", post.attempts)
            return
        backoff = min(cfg.retry_base * 2 ** (post.attempts - 1), cfg.retry_max)
        backoff = min(backoff * self.rng.uniform(0.8, 1.2), cfg.retry_max)
        self.retries += 1
        self.retrying_posts += 1
        self._push_post(post, backoff)

    # --- reporting --------------------------------------------------------------------------

    def snapshot(self) -> dict:
        return {
            "enabled": True,
            "url": self.config.webhook_url,
            "posts_delivered": self.posts_delivered,
            "statuses_delivered": self.statuses_delivered,
            "delivered_by_status": dict(self.delivered_by_status),
            "event_posts_delivered": self.event_posts_delivered,
            "attempts": self.attempts,
            "failed_attempts": self.failed_attempts,
            "retries": self.retries,
            "duplicate_posts": self.duplicate_posts,
            "duplicate_statuses": self.duplicate_statuses,
            "scheduled_statuses": self.scheduled_statuses,
            "pending_statuses": self.pending_statuses,
            "pending_posts": self.pending_posts,
            "retrying_posts": self.retrying_posts,
            "in_flight_posts": self.in_flight,
            "dropped_posts": self.dropped_posts,
            "dropped_statuses": self.dropped_statuses,
            "last_error": self.last_error,
            "idle": self.pending_statuses == 0 and self.pending_posts == 0,
        }
