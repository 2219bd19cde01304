"""Storing received webhook events: group commit, done in the application.

Under load a receiving process has several POSTs in flight (gunicorn threads), and each would
pay for its own statement and its own commit (a WAL flush). Instead the first to arrive leads:
it inserts every row queued meanwhile with one statement in one transaction, then hands the
lead to the next waiter. A POST is still answered only after its own row is committed, so
nothing acknowledged can be lost; it just shares the commit with its neighbours. With one
request at a time (tests, low traffic) every batch is a single row.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction

from config.sql import column, execute

from ..models import WebhookEvent

MAX_BATCH = 64
COLUMNS = ("account_id", "body", "body_sha256", "received_at", "status", "error")


@dataclass(slots=True)
class NewEvent:
    account_id: object
    body: bytes
    body_sha256: str
    received_at: datetime
    status: str
    error: str = ""


class _Waiter:
    __slots__ = ("done", "error", "event_id", "lead", "row")

    def __init__(self, row: NewEvent):
        self.row = row
        self.done = threading.Event()
        self.event_id: int | None = None
        self.error: BaseException | None = None
        self.lead = False


class GroupInserter:
    """Coalesces concurrent `insert` calls of one process into `insert_rows` batches."""

    def __init__(self, insert_rows: Callable[[list[NewEvent]], list[int]], max_batch=MAX_BATCH):
        self._insert_rows = insert_rows
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Waiter] = []
        self._leading = False

    def insert(self, row: NewEvent) -> int:
        me = _Waiter(row)
        with self._lock:
            self._queue.append(me)
            if not self._leading:  # the queue is empty: lead, with this row first
                self._leading = me.lead = True
        if not me.lead:
            me.done.wait()  # until a leader has stored the row, or handed over the lead
        if me.lead:
            self._flush(me)
        if me.error is not None:
            raise me.error
        assert me.event_id is not None  # stored, or the error was raised
        return me.event_id

    def _flush(self, me: _Waiter) -> None:
        # The leader is always at the head of the queue, so its row is in its own batch.
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            ids = self._insert_rows([w.row for w in batch])
        except BaseException as exc:  # every waiter of the batch answers with the error
            for waiter in batch:
                waiter.error = exc
        else:
            for waiter, event_id in zip(batch, ids, strict=True):
                waiter.event_id = event_id
        with self._lock:
            successor = self._queue[0] if self._queue else None
            if successor is None:
                self._leading = False
            else:
                successor.lead = True
        for waiter in batch:
            if waiter is not me:
                waiter.done.set()
        if successor is not None:
            successor.done.set()


def insert_rows(rows: list[NewEvent]) -> list[int]:
    """One INSERT … RETURNING id for the rows (one statement, so one commit); a drain is
    triggered after the commit. Skips the model layer: at thousands of rows a second,
    building instances and compiling SQL would cost more than the INSERT itself."""
    from .drain import drain_soon

    if connection.features.can_return_columns_from_insert:
        # One statement is its own transaction: no BEGIN / COMMIT round trips around it.
        ids = _insert_returning(rows)
    else:
        with transaction.atomic():
            ids = [WebhookEvent.objects.create(**_values(row)).pk for row in rows]
    if any(row.status == WebhookEvent.Status.PENDING for row in rows):
        transaction.on_commit(drain_soon)  # at once, or after the caller's transaction
    return ids


def _values(row: NewEvent) -> dict:
    return {name: getattr(row, name) for name in COLUMNS}


def _insert_returning(rows: list[NewEvent]) -> list[int]:
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor == "postgresql":
        # psycopg adapts UUIDs, bytes and aware datetimes itself; binary parameters and a
        # prepared statement (one per batch size) keep both sides' work per row small.
        params = [getattr(row, name) for row in rows for name in COLUMNS]
        return [r[0] for r in execute(_insert_sql(conn.vendor, len(rows), "%b"), params)]
    fields = [_field(name) for name in COLUMNS]
    params = [
        field.get_db_prep_save(getattr(row, field.attname), conn)
        for row in rows
        for field in fields
    ]
    with conn.cursor() as cursor:
        cursor.execute(_insert_sql(conn.vendor, len(rows), "%s"), params)
        return [r[0] for r in cursor.fetchall()]


def _field(name: str) -> models.Field:
    field = WebhookEvent._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


@functools.lru_cache(maxsize=MAX_BATCH * 2)
def _insert_sql(vendor: str, count: int, placeholder: str) -> str:
    meta = WebhookEvent._meta
    qn = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(qn(column(WebhookEvent, name)) for name in COLUMNS)
    row = "(" + ", ".join([placeholder] * len(COLUMNS)) + ", 0, 0, 0)"
    return (
        f"INSERT INTO {qn(meta.db_table)} ({columns}, {qn('attempts')}, "
        f"{qn('statuses_count')}, {qn('messages_count')}) VALUES "
        + ", ".join([row] * count)
        + f" RETURNING {qn('id')}"
    )


_inserter = GroupInserter(insert_rows)


def event_store(row: NewEvent) -> int:
    """Store one received event (sharing a commit with concurrent ones); returns its id."""
    if connection.in_atomic_block:
        # Inside the caller's own transaction (tests, ATOMIC_REQUESTS), another request's
        # row must not ride along: it would be acknowledged before that transaction commits.
        return insert_rows([row])[0]
    return _inserter.insert(row)
