"""Group commit: concurrent receivers of one process share one INSERT and one commit."""

import threading
import time

import pytest

from webhooks.services.store import GroupInserter


def run_concurrently(inserter, rows, results=None, errors=None):
    results = {} if results is None else results
    errors = {} if errors is None else errors

    def insert(row):
        try:
            results[row] = inserter.insert(row)
        except Exception as exc:
            errors[row] = exc

    threads = [threading.Thread(target=insert, args=(row,)) for row in rows]
    for thread in threads:
        thread.start()
    return threads, results, errors


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


class HeldInserts:
    """insert_rows that records its batches and holds the first one until released."""

    def __init__(self, fail_batch: int | None = None):
        self.batches: list[list] = []
        self.release = threading.Event()
        self.fail_batch = fail_batch

    def __call__(self, rows):
        self.batches.append(list(rows))
        if len(self.batches) == 1:
            assert self.release.wait(5)
        if self.fail_batch == len(self.batches):
            raise RuntimeError("database is down")
        return [f"id-{row}" for row in rows]


def test_rows_arriving_during_a_flush_share_the_next_batch():
    held = HeldInserts()
    inserter = GroupInserter(held)
    first, results, _ = run_concurrently(inserter, ["a"])
    wait_for(lambda: len(held.batches) == 1)
    rest, _, _ = run_concurrently(inserter, ["b", "c", "d", "e"], results)
    wait_for(lambda: len(inserter._queue) == 4)

    held.release.set()
    for thread in first + rest:
        thread.join(5)

    assert [sorted(b) for b in held.batches] == [["a"], ["b", "c", "d", "e"]]
    assert results == {row: f"id-{row}" for row in "abcde"}
    assert not inserter._leading
    assert not inserter._queue


def test_batches_are_capped():
    held = HeldInserts()
    inserter = GroupInserter(held, max_batch=2)
    first, results, _ = run_concurrently(inserter, ["a"])
    wait_for(lambda: len(held.batches) == 1)
    rest, _, _ = run_concurrently(inserter, ["b", "c", "d", "e", "f"], results)
    wait_for(lambda: len(inserter._queue) == 5)
    held.release.set()
    for thread in first + rest:
        thread.join(5)
    assert [len(b) for b in held.batches] == [1, 2, 2, 1]
    assert len(results) == 6


def test_a_failed_batch_fails_its_rows_only_and_the_next_ones_go_through():
    held = HeldInserts(fail_batch=2)
    inserter = GroupInserter(held)
    first, results, errors = run_concurrently(inserter, ["a"])
    wait_for(lambda: len(held.batches) == 1)
    rest, _, _ = run_concurrently(inserter, ["b", "c"], results, errors)
    wait_for(lambda: len(inserter._queue) == 2)
    held.release.set()
    for thread in first + rest:
        thread.join(5)

    assert results == {"a": "id-a"}
    assert set(errors) == {"b", "c"}
    assert all(str(e) == "database is down" for e in errors.values())
    assert inserter.insert("d") == "id-d"


def test_a_single_caller_inserts_alone():
    inserter = GroupInserter(lambda rows: [len(rows)])
    assert [inserter.insert(i) for i in range(3)] == [1, 1, 1]


@pytest.mark.django_db
def test_rows_are_stored_in_order_with_their_ids(account):
    from django.utils import timezone

    from webhooks.models import WebhookEvent
    from webhooks.services.store import NewEvent, insert_rows

    rows = [
        NewEvent(account.id, f"body-{i}".encode(), f"{i:064d}", timezone.now(), "pending")
        for i in range(3)
    ]
    ids = insert_rows(rows)
    stored = WebhookEvent.objects.in_bulk(ids)
    assert [bytes(stored[i].body) for i in ids] == [b"body-0", b"body-1", b"body-2"]
    assert all(stored[i].attempts == 0 and stored[i].account_id == account.id for i in ids)
