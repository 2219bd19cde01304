"""Row locks held by another connection, as a second worker (or a frozen one) holds them."""

import contextlib
import threading

from django.db import connection, transaction


@contextlib.contextmanager
def rows_locked_elsewhere(queryset, *, hold_seconds: float = 30):
    """Lock `queryset`'s rows (SELECT … FOR UPDATE) in another thread's connection and
    transaction for the duration of the block; a failure in that thread fails the test."""
    locked, release, errors = threading.Event(), threading.Event(), []

    def holder():
        try:
            with transaction.atomic():
                list(queryset.select_for_update())
                locked.set()
                release.wait(hold_seconds)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10), errors or "the rows were not locked"
        yield
    finally:
        release.set()
        thread.join()
    assert errors == []
