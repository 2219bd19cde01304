"""The sender's database calls, on its one database thread. A connection the server dropped
(a restart, `pg_terminate_backend`, a failover) is replaced and the call tried once more, so
a sender carries on instead of dying with outcomes unrecorded.

Every call the sender makes is safe to repeat: a claim that committed unseen leaves rows that
lease recovery returns to pending (they are unmarked: never sent); outcomes written a second
time change nothing (each UPDATE is guarded by the row's state and claim).
"""

import logging

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)


def call_reconnecting(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (OperationalError, InterfaceError) as exc:
        if connection.in_atomic_block:
            raise  # inside a caller's transaction: that caller decides
        logger.warning(
            "database call failed; reconnecting and trying once more",
            extra={"call": getattr(fn, "__name__", str(fn)), "error": str(exc)[:200]},
        )
        connection.close()
        return fn(*args, **kwargs)
