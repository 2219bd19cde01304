"""One sender: a continuous loop that claims, paces, sends and records for one campaign.

Claims are fetched ahead of the sends and outcomes are written every fraction of a second,
so the pipe never stops between batches. Database work runs in one dedicated thread (one
connection); the sends run on one aiohttp session with up to `slots` requests in flight.
The loop ends when the campaign is no longer running, nothing is left, or its time budget is
spent (the task then re-enqueues itself, so no Celery time limit is ever hit).
"""

import asyncio
import contextlib
import gc
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connections
from redis.asyncio import Redis as AsyncRedis

from templates_app.services import TemplateNotSendable, template_require_sendable
from whatsapp import callback
from whatsapp.async_client import AsyncGraphSender
from whatsapp.errors import WhatsAppError
from whatsapp.models import WhatsAppAccount
from whatsapp.payload import PayloadBuilder, PayloadError

from ..audiences.cap import cap_for
from ..models import Campaign
from ..models_numbers import numbers_of
from ..tracking.clicks import click_token
from . import claims, control, paths, store
from .breaker import Breaker, BreakerSettings, quality_key
from .database import call_reconnecting
from .limiter import LeaseLost, RateLimiter, TierGate, interval_us, marks_key
from .outcomes import PAUSING, beyond_horizon, effective_action, outcome_for_error

logger = logging.getLogger(__name__)

RECORD_EVERY = 0.25  # seconds between outcome writes
CONTROL_EVERY = 0.25  # seconds between pause/stop checks
# A send waits for no slot later than this before the lease's end: time for a request to
# leave even if the process stalls just then (the lease is HEARTBEAT_TTL, refreshed 4× a s).
LEASE_MARGIN = 5.0
# Seconds between reads of the evidence that arrives by webhook: quality signals (Redis)
# always, opt-outs (the database) only when the campaign sets a limit.
EVIDENCE_EVERY = 5.0
# Slots are taken from the limiter up to GRANT_AHEAD seconds before they are due, a few per
# call, instead of one call per send. A sender whose event loop stalls then sends the slots it
# holds late, together: at most GRANT_AHEAD's worth (5 ms, 0.5 % of the rate), well inside the
# limiter's 2 % margin.
GRANT_AHEAD = 0.005
# When the rest of the next GRANT_AHEAD went to another sender, ask again this much later.
GRANT_EVERY = 0.0025


@dataclass
class RunResult:
    sent: int = 0
    outcomes: int = 0
    reason: str = ""  # why the loop ended: drained | not-running | budget | paused
    extra: dict = field(default_factory=dict)


class Sender:
    def __init__(
        self,
        campaign: Campaign,
        *,
        worker: str,
        slots: int,
        budget_seconds: float,
        number: WhatsAppAccount | None = None,
        pooled: bool = False,
        share: int | None = None,
    ):
        self.campaign = campaign
        # The number this sender sends from: the campaign's own, or one of its pool
        # (models_numbers.py); its throughput paces it, the WABA's limit is shared.
        self.number = number or campaign.account
        self.pooled = pooled  # one of several numbers: its pause reasons name it
        self.worker = worker
        self.slots = max(1, slots)
        self.budget = budget_seconds
        # About two seconds of this sender's sends: a slow number of a pool must not hold
        # rows a faster one would send sooner.
        rate = min(campaign.rate_limit, self.number.throughput or campaign.rate_limit)
        self.batch_size = max(10, min(settings.ENGINE_BATCH_MAX, rate * 2))
        self.refill = self.batch_size
        # A campaign of a few seconds' sends is shared by its senders (and so by its
        # numbers): the first to start must not claim it all before the others have started.
        # Such a sender claims its `share` (the campaign's pending over its senders) a batch
        # at a time, the next when a quarter is left. (A bigger campaign keeps the full
        # lookahead: holding a quarter batch cost a pool of two numbers at 2,000 msg/s ~8 %
        # of its rate on 2 busy cores, `python -m bench pool`.)
        if share is not None and share < self.batch_size:
            self.batch_size = max(10, share)
            self.refill = max(1, self.batch_size // 4)
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-db")
        self.queue: asyncio.Queue = asyncio.Queue()
        self.results: list[store.Outcome] = []
        self.stop = asyncio.Event()
        self.drained = False
        self.pause_reason = ""
        self.slot: tuple[str, str] | None = None  # (key, token): see control.slot_take
        self.pause_code: int | None = None
        self.in_flight = 0
        self.result = RunResult()
        # The lease: this sender's heartbeat key. Crash recovery hands its rows to another
        # sender only once the key is gone, so nothing may leave once it might be: the
        # limiter refuses slots without it, and a send waits for no slot past `lease_until`
        # (the last refresh's end on our clock, which runs on while the process is frozen).
        self.beat = f"{control.heartbeat_key(campaign.pk)}:{worker}"
        self.lease_until = 0.0
        self.lease_lost = False
        self.breaker = Breaker(
            BreakerSettings.resolve(campaign.workspace.breaker_defaults, campaign.breaker)
        )
        template = campaign.template
        self.builder = PayloadBuilder(
            template_name=template.name,
            language=template.language,
            components=template.components,
            parameter_format=template.parameter_format,
            offer_expires_ms=(
                int(campaign.offer_expires_at.timestamp() * 1000)
                if campaign.offer_expires_at is not None
                else None
            ),
            click_token=click_token,
        )
        # A limited-time offer over by its send time is skipped at the claim, never sent.
        self.offer_expiry = self.builder.offer_ms if self.builder.offer_column else None
        # /messages or the Marketing Messages API, with its extra fields: once per sender.
        self.path = paths.send_path(campaign, self.number)
        self.extras = paths.path_extras(campaign, self.number)
        # The frequency cap, and whether sends touch contacts (docs/audiences.md §6): once.
        self.cap, self.contacts = cap_for(campaign), bool(campaign.audience)

    async def _db(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.db, lambda: call_reconnecting(fn, *args, **kwargs))

    def _watch_task(self, task: asyncio.Task) -> None:
        """A loop that fails (the database gone for good, a bug) stops the sender at once:
        sends must not go on while their outcomes cannot be recorded. What it holds is given
        back, what is in flight finishes, and the sweep restarts the campaign's senders."""
        if task.cancelled() or task.exception() is None:
            return
        logger.error(
            "sender loop failed: stopping the sender",
            exc_info=task.exception(),
            extra={"campaign_id": str(self.campaign.pk), "worker": self.worker},
        )
        self.result.reason = "error"
        self.stop.set()
        self.queue.put_nowait(None)  # wake the dispatcher if it waits on an empty queue

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> RunResult:
        account = self.number
        redis = AsyncRedis.from_url(settings.REDIS_URL)
        self.redis = redis
        self.limiter = RateLimiter(
            redis,
            campaign_id=self.campaign.pk,
            rate=self.campaign.rate_limit,
            phone_number_id=account.phone_number_id,
            throughput=account.throughput,
            lease_key=self.beat,
        )
        self.tier = TierGate(redis, waba_id=account.waba_id, limit=account.daily_unique_limit)
        started = time.monotonic()
        tasks: list[asyncio.Task] = []
        try:
            async with AsyncGraphSender(limit=self.slots) as graph:
                self.graph = graph
                # The lease exists before anything can ask the limiter for a slot.
                await self.redis.set(self.beat, 1, ex=control.HEARTBEAT_TTL)
                self.lease_until = time.monotonic() + control.HEARTBEAT_TTL - LEASE_MARGIN
                tasks = [
                    asyncio.create_task(self._feed()),
                    asyncio.create_task(self._record_loop()),
                    asyncio.create_task(self._watch(started)),
                ]
                for task in tasks:
                    task.add_done_callback(self._watch_task)
                await self._dispatch()
        finally:
            # However the dispatcher ended (an error too: Redis out of reach), the other
            # loops end before the queue is given back: a claim still on its way (a
            # connection stalled by a network partition) lands in the queue first, instead
            # of staying claimed by this sender until its lease runs out.
            self.stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._release_queue()
            await self._flush()
            # All it claimed is recorded or given back: its lease ends now, so the sweep can
            # start senders for due work at once rather than when the key would expire.
            with contextlib.suppress(Exception):
                await redis.delete(self.beat)
            await redis.aclose()
            # The DB thread's connection dies with the thread: close it, don't leak it.
            await self._db(connections.close_all)
            self.db.shutdown(wait=True)
        if self.pause_reason:
            self.result.reason = "paused"
            self.result.extra = {
                "reason": self.pause_reason,
                "code": self.pause_code,
                "account_id": str(self.number.pk),
            }
        elif self.drained:
            self.result.reason = "drained"
        elif not self.result.reason:
            self.result.reason = "budget"
        return self.result

    async def _feed(self):
        """Keep about two batches claimed ahead of the dispatcher (the next one is claimed
        when fewer than `refill` rows are left: a batch, or a quarter of a share)."""
        while not self.stop.is_set():
            if self.queue.qsize() >= self.refill:
                await asyncio.sleep(0.02)
                continue
            rows = await self._db(
                claims.claim_batch,
                campaign_id=self.campaign.pk,
                worker=self.worker,
                number_id=self.number.pk,
                size=self.batch_size,
                offer_expiry=self.offer_expiry,
                cap=self.cap,
            )
            if not rows:
                if self.queue.empty() and self.in_flight == 0:
                    self.drained = True
                    await self.queue.put(None)
                    return
                await asyncio.sleep(0.05)
                continue
            rows = await self._admit(rows)
            for row in rows:
                await self.queue.put(row)

    async def _admit(self, rows: list[claims.Claimed]) -> list[claims.Claimed]:
        """Hold back recipients over the messaging limit: deferred, not failed."""
        allowed, frees_at = await self.tier.admit([r.phone for r in rows], time.time())
        if all(allowed):
            return rows
        later = datetime.fromtimestamp(frees_at or time.time() + 3600, tz=UTC)
        too_late = beyond_horizon(later)
        for row, ok in zip(rows, allowed, strict=True):
            if ok:
                continue
            if too_late:
                self.results.append(
                    store.Outcome(
                        row.id,
                        "failed",
                        error_title="Messaging limit reached",
                        error_details=(
                            "The WhatsApp Business Account's daily limit of unique recipients "
                            f"is used up until {later:%Y-%m-%d %H:%M} UTC; retry failed sends "
                            "them after that."
                        ),
                        error_retryable=True,
                        next_attempt_at=later,
                    )
                )
            else:
                self.results.append(
                    store.Outcome(row.id, "pending", released=True, next_attempt_at=later)
                )
        return [r for r, ok in zip(rows, allowed, strict=True) if ok]

    async def _dispatch(self):
        """Take rows from the queue, get their slots from the limiter a few milliseconds
        ahead, and start each send at its slot's time."""
        # Slow start: one request in flight until one succeeds, then one more per success.
        # An expired token or a paused template therefore costs one failed request, not
        # `slots` of them.
        self._capacity = 1
        self._busy = 0  # rows with a slot: waiting for their time, or being sent
        self._freed = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        loop = asyncio.get_running_loop()
        held: deque[claims.Claimed] = deque()  # taken from the queue, no slot yet
        ended = False
        while not self.stop.is_set():
            room = self._capacity - self._busy
            if room <= 0:
                self._freed.clear()
                await self._freed.wait()
                continue
            while len(held) < room:
                try:
                    row = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if row is None:
                    ended = True
                    break
                self.in_flight += 1
                held.append(row)
            if not held:
                if ended:
                    break
                row = await self.queue.get()
                if row is None:
                    ended = True
                else:
                    self.in_flight += 1
                    held.append(row)
                continue
            batch = [held[i] for i in range(min(room, len(held)))]
            try:
                times, wait = await self.limiter.acquire([r.id for r in batch], GRANT_AHEAD)
            except LeaseLost:
                self._lose_lease()
                break
            if not times:
                await asyncio.sleep(min(max(wait, GRANT_EVERY), 0.2))
                continue
            for at in times:
                self._busy += 1
                loop.call_at(at, self._launch, held.popleft())
            if len(times) < len(batch):
                # The rest of the next GRANT_AHEAD is someone else's: ask again a little
                # later, for a few slots at once rather than one per call.
                await asyncio.sleep(GRANT_EVERY)
        while held:  # never got a slot: never left
            self._release(held.popleft())
        while self._busy:
            self._freed.clear()
            await self._freed.wait()

    def _launch(self, row: claims.Claimed) -> None:
        """A row's slot has come: send it (or, once stopping, give it back: it never left)."""
        if not self.stop.is_set() and time.monotonic() > self.lease_until:
            self._lose_lease()  # woken from a freeze: the timers fire before anything else
        if self.stop.is_set():
            self._release(row)
            self._busy -= 1
            self._freed.set()
            return
        task = asyncio.create_task(self._send(row))
        self._tasks.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._busy -= 1
        self.in_flight -= 1
        self._freed.set()

    def _lose_lease(self) -> None:
        """Stop at once and send nothing more: another sender may own these rows now. What
        this one still records is applied only to rows still claimed by it."""
        if not self.lease_lost:
            self.lease_lost = True
            self.result.reason = "lease-lost"
            logger.warning(
                "sender lease lost: stopping without sending what it held",
                extra={"campaign_id": str(self.campaign.pk), "worker": self.worker},
            )
        self.stop.set()

    def _pause(self, reason: str, code: int | None) -> None:
        """Stop this sender; the task pauses the campaign with the first reason seen."""
        if not self.pause_reason:
            if self.pooled:  # which of the campaign's numbers met it
                reason = f"{reason} [sending from {self.number}]"
            self.pause_reason, self.pause_code = reason, code
            self.stop.set()

    def _release(self, row: claims.Claimed) -> None:
        self.in_flight -= 1
        self.results.append(store.Outcome(row.id, "pending", released=True))

    async def _send(self, row: claims.Claimed):
        account = self.number
        try:
            payload = self.builder.build(
                row.phone, row.values, callback.encode(row.id), recipient_id=row.id
            )
            payload.update(self.extras)
            result = await self.graph.send_template(
                phone_number_id=account.phone_number_id,
                access_token=account.access_token,
                payload=payload,
                path=self.path,
            )
        except PayloadError as error:
            # Checked at import, so only a campaign setting changed since (e.g. its offer
            # expiry cleared) gets here: this row cannot be sent; it never left.
            self.results.append(store.Outcome(
                row.id, "failed", error_title="Invalid values", error_details=error.message,
                error_retryable=False,
            ))  # fmt: skip
            return
        except WhatsAppError as error:
            outcome = outcome_for_error(row, error)
            outcome.send_path = self.path  # recorded where the request reached Meta
            if error.rule.slows_rate:
                await self.limiter.slow_down()
            action = effective_action(row, error)
            if action in PAUSING and not error.maybe_delivered:
                reason = f"{error.rule.explanation} (WhatsApp error {error.code})"
                if action != error.action:  # retries spent on an error that never went away
                    reason = f"{reason}, still failing after {row.attempts} attempts"
                self._pause(reason, error.code)
            elif not error.maybe_delivered:
                trip = self.breaker.failure(error.rule, error.code, row.phone)
                if trip is not None:
                    self._pause(trip.reason, trip.code)
            self.results.append(outcome)
            return
        except Exception as exc:  # a bug must not lose the row: it may have been sent
            logger.exception("send crashed", extra={"recipient_id": row.id})
            self.results.append(
                store.Outcome(
                    row.id,
                    "unknown",
                    error_title="Outcome unknown",
                    error_details=str(exc),
                    send_path=self.path,
                )
            )
            return
        self.result.sent += 1
        self.breaker.success()
        if self._capacity < self.slots:
            self._capacity += 1
        self.results.append(
            store.Outcome(
                row.id,
                "sent",
                wamid=result.wamid,
                message_status=result.message_status or "",
                send_path=self.path,
            )
        )

    async def _record_loop(self):
        while not self.stop.is_set():
            await asyncio.sleep(RECORD_EVERY)
            await self._flush()

    async def _flush(self):
        if not self.results:
            return
        batch, self.results = self.results, []
        wamids = await self._db(
            store.record_outcomes,
            campaign_id=self.campaign.pk,
            outcomes=batch,
            worker=self.worker,
            contacts=self.contacts,
        )
        self.result.outcomes += len(batch)
        # Marks only matter while an outcome is unrecorded. A sender past its lease (frozen,
        # cut off) leaves them: the sweep may have given its rows to another sender, whose
        # requests in flight carry the same marks. A leftover mark errs towards `unknown`,
        # never towards a second send.
        if not self.lease_lost and time.monotonic() < self.lease_until:
            await self.redis.srem(marks_key(self.campaign.pk), *[o.id for o in batch])
        if wamids:
            await self._db(control.apply_early_statuses, wamids)

    async def _watch(self, started: float):
        """Stop on pause/stop (within a fraction of a second) or when the budget is spent."""
        # The heartbeat tells crash recovery this sender is alive and still owns its claims.
        counted = time.monotonic()
        while not self.stop.is_set():
            await asyncio.sleep(CONTROL_EVERY)
            # Only while it still exists (XX): a key that expired may have let crash
            # recovery take this sender's rows; bringing it back would hide that.
            refreshed_at = time.monotonic()
            if not await self.redis.set(self.beat, 1, ex=control.HEARTBEAT_TTL, xx=True):
                self._lose_lease()
                break
            self.lease_until = refreshed_at + control.HEARTBEAT_TTL - LEASE_MARGIN
            if time.monotonic() - counted > EVIDENCE_EVERY:
                counted = time.monotonic()
                await self._read_evidence()
                await self._read_limits()
            if self.slot is not None:
                await control.slot_refresh(self.redis, *self.slot)
            if time.monotonic() - started > self.budget:
                self.result.reason = "budget"
                self.stop.set()
            elif await control.is_halted(self.redis, self.campaign.pk):
                self.result.reason = "not-running"
                self.stop.set()
        # Wake the dispatcher if it waits on an empty queue.
        await self.queue.put(None)

    async def _read_limits(self) -> None:
        """The number's throughput and the messaging limit as the account has them now: a
        THROUGHPUT_UPGRADE or a new limit from Meta (whatsapp.health) applies within seconds."""
        throughput, limit = await self._db(store.account_limits, account_id=self.number.pk)
        self.limiter.number_interval = interval_us(throughput)
        self.tier.limit = limit

    async def _read_evidence(self) -> None:
        """What status webhooks and replies said about this campaign, for the breaker."""
        raw = await self.redis.hgetall(quality_key(self.campaign.pk))
        counts = {int(code): int(n) for code, n in raw.items()}
        if self.breaker.config.optout_share is None and not counts:
            return
        opted_out, reached = await self._db(store.optouts_since_start, campaign_id=self.campaign.pk)
        trip = self.breaker.quality(counts, reached) if counts else None
        if trip is None and self.breaker.config.optout_share is not None:
            trip = self.breaker.optouts(opted_out, reached)
        if trip is not None:
            self._pause(trip.reason, trip.code)

    async def _release_queue(self):
        while not self.queue.empty():
            row = self.queue.get_nowait()
            if row is not None:
                self.results.append(store.Outcome(row.id, "pending", released=True))


def run_sender(
    *,
    campaign_id,
    worker: str,
    budget_seconds: float,
    slot: tuple[str, str] | None = None,
    sender_no: int = 0,
) -> RunResult:
    """Run one sender for a running campaign (called by the Celery task, which holds `slot`:
    its Redis key and token, refreshed here while the sender runs). Sender `sender_no` sends
    from the campaign's number `sender_no // ENGINE_SENDERS_PER_CAMPAIGN`."""
    campaign = (
        Campaign.objects.select_related("template", "account", "workspace")
        .filter(pk=campaign_id)
        .first()
    )
    if campaign is None or campaign.status != Campaign.Status.RUNNING:
        return RunResult(reason="not-running")
    try:
        template_require_sendable(campaign.template)
    except TemplateNotSendable as exc:
        return RunResult(reason="paused", extra={"reason": str(exc), "code": None})
    senders = max(1, settings.ENGINE_SENDERS_PER_CAMPAIGN)
    numbers = numbers_of(campaign)
    if sender_no // senders >= len(numbers):
        # Its number was taken out of the pool while it waited: the others send the rest.
        return RunResult(reason="retired")
    slots = max(1, -(-campaign.worker_count // senders))
    sender = Sender(
        campaign,
        worker=worker,
        slots=slots,
        budget_seconds=budget_seconds,
        number=numbers[sender_no // senders],
        pooled=len(numbers) > 1,
        share=-(-campaign.pending_count // (senders * len(numbers))),
    )
    sender.slot = slot
    # A full collection of a Django process's heap pauses the event loop for ~150 ms: sends
    # held by a paused sender then leave in a burst, and slots go unused. Collecting once now
    # and freezing what survives keeps later collections to the objects of this run.
    gc.collect()
    gc.freeze()
    try:
        return asyncio.run(sender.run())
    finally:
        gc.unfreeze()
