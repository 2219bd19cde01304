"""Where an import's rows go: the recipients table, streamed, and the rejections table.

On PostgreSQL valid rows are COPYed straight into the recipients table while the file is still
being read, so the database inserts on one core while Python reads and validates on the other;
on SQLite they are inserted in batches. Everything runs inside the import's transaction, so a
failure leaves no trace.

Rows reach the table only once they are known to be new: `PhoneSet` remembers, in Python, every
number the file has imported so far, the campaign's recipients and the workspace's opt-outs, in
flat arrays (~25 MB for a million numbers) so the process memory stays within budget. (Staging
the whole file in a temporary table and sorting duplicates out with SQL cost the database more
than the insert itself: a copy, an index and three joins over a million rows, none of it
overlapping the reading.)

Rejections found while the COPY is open cannot be written on the same connection until it ends;
they are spooled to a temporary file and copied in afterwards.
"""

import contextlib
import json
import queue
import tempfile
import threading
import time
from array import array

from django.db import connection

from ..models import ImportRejection, Recipient

SQLITE_BATCH = 5_000
# Rows per write to the COPY stream: large enough that the per-call cost vanishes, small enough
# that the server starts on them while the next ones are prepared.
COPY_BATCH = 2_000
# Batches waiting for the writer thread (~200 KB each), and rows per COPY statement (a bounded
# statement keeps what the server holds for one small).
QUEUED_BATCHES = 16
STATEMENT_ROWS = 20_000
SPOOL_READ = 1 << 20

# json.dumps(values, ensure_ascii=False, separators=(",", ":")) for the SQLite rows; the COPY
# rows build the same text from the C string encoder that json.dumps itself uses, ~2.5x faster.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_JSON_STRING = json.encoder.encode_basestring
# COPY's text format: a backslash, tab or line break inside a field must be escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# Recipient columns the insert fills, with the model's defaults for a new pending recipient.
_RECIPIENT_COLUMNS = (
    'campaign_id, phone, "values", source_line, status, skip_reason, attempts, claimed_by, '
    "message_status, error_title, error_details, pricing_category"
)
_PENDING_TAIL = ("pending", "", 0, "", "", "", "", "")
_REJECTION_COLUMNS = 'report_id, line, kind, "column", reason, value'


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


def db_uuid(value):
    """UUIDs as the backend stores them (SQLite: 32 hex characters)."""
    return value if connection.vendor == "postgresql" else value.hex


# --- numbers already seen --------------------------------------------------------------------

_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing: consecutive numbers land far apart
_MASK64 = (1 << 64) - 1


def _as_int(phone: str) -> int:
    """E.164 as an integer, or 0 for any other string. "+" and up to 18 ASCII digits, the first
    not 0 (no calling code starts with 0), map one-to-one to integers that fit a slot. (String
    tests, not a regex: this runs once a row, and a regex match costs several times more.)"""
    digits = phone[1:]
    if (
        phone[:1] == "+"
        and len(digits) <= 18
        and digits.isdigit()
        and digits.isascii()
        and digits[:1] != "0"
    ):
        return int(digits)
    return 0


class PhoneSet:
    """Numbers mapped to the file line they first appeared on, plus flags for numbers that are
    already recipients of the campaign (EXISTING) or opted out (OPTED_OUT).

    Open addressing over two arrays (12 bytes a slot, at most half full): a Python dict of a
    million numbers would take ~100 MB. Numbers compare exactly as strings do: E.164 strings
    map one-to-one to integers, and anything else (an odd number stored by hand) is kept as a
    string aside.
    """

    EXISTING = 1
    OPTED_OUT = 2
    # Sized up front for at most this many numbers (a million: 24 MB), so that the usual large
    # file never grows the table, which costs a Python pass and old + new arrays at once.
    PRESIZE_MAX_BITS = 21

    def __init__(self, expected: int = 0):
        self._used = 0
        self._others: dict[str, int] = {}
        bits = min(max(16, (2 * expected).bit_length()), self.PRESIZE_MAX_BITS)
        self._allocate(bits)

    def _allocate(self, bits: int) -> None:
        self._bits = bits
        self._shift = 64 - bits
        self._mask = (1 << bits) - 1
        # Repeated, not built from a bytes object: no second copy of the zeros, even briefly.
        self._keys = array("q", [0]) * (1 << bits)  # 0 marks a free slot
        self._values = array("i", [0]) * (1 << bits)  # first line << 2 | flags

    def _grow(self) -> None:
        keys, values = self._keys, self._values
        self._allocate(self._bits + 1)
        new_keys, new_values = self._keys, self._values
        shift, mask = self._shift, self._mask
        for key, value in zip(keys, values, strict=True):
            if key:
                slot = ((key * _GOLDEN) & _MASK64) >> shift
                while new_keys[slot]:
                    slot = (slot + 1) & mask
                new_keys[slot] = key
                new_values[slot] = value

    def _slot(self, key: int) -> int:
        """The slot holding `key`, or the free slot where it belongs."""
        keys, mask = self._keys, self._mask
        slot = ((key * _GOLDEN) & _MASK64) >> self._shift
        while True:
            found = keys[slot]
            if found == key or not found:
                return slot
            slot = (slot + 1) & mask

    def visit(self, phone: str, line: int) -> int:
        """What was known about `phone` before this row (first line << 2 | flags, 0 for a new
        number); the first visit records `line`."""
        key = _as_int(phone)
        if not key:
            known = self._others.get(phone, 0)
            if known < 4:
                self._others[phone] = known | line << 2
            return known
        # _slot, inlined: this runs once a row.
        keys, mask = self._keys, self._mask
        slot = ((key * _GOLDEN) & _MASK64) >> self._shift
        while True:
            found = keys[slot]
            if found == key:
                break
            if not found:
                keys[slot] = key
                self._values[slot] = line << 2
                self._used += 1
                if self._used * 2 > len(keys):
                    self._grow()
                return 0
            slot = (slot + 1) & mask
        known = self._values[slot]
        if known < 4:
            self._values[slot] = known | line << 2
        return known

    def flag(self, phone: str, flag: int) -> None:
        key = _as_int(phone)
        if not key:
            self._others[phone] = self._others.get(phone, 0) | flag
            return
        slot = self._slot(key)
        if not self._keys[slot]:
            self._keys[slot] = key
            self._used += 1
        self._values[slot] |= flag
        if self._used * 2 > len(self._keys):
            self._grow()

    @staticmethod
    def first_line(known: int) -> int:
        return known >> 2


# --- the writer ------------------------------------------------------------------------------

_DONE, _ABORT = object(), object()


class _CopyWriter(threading.Thread):
    """Sends the COPY text to the recipients table from a thread of its own, one COPY statement
    per STATEMENT_ROWS rows, so the reading thread never waits for a statement to end. psycopg
    waits for the server with the GIL released. (The recipients table has no foreign-key
    constraint to check per row: see Recipient.campaign.)
    """

    def __init__(self, cursor, statement: str, *, statement_rows=STATEMENT_ROWS, after=None):
        """`after(cursor)`, when given, runs in this thread after each COPY statement ends
        (every `statement_rows` rows, and the last): the contacts import merges its staged
        rows there, so the server merges while the reading thread goes on reading."""
        super().__init__(name="import-copy", daemon=True)
        self._cursor = cursor
        self._statement = statement
        self._statement_rows = statement_rows
        self._after = after
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
        self.error: BaseException | None = None

    def send(self, text: bytes, rows: int) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put((text, rows))

    def finish(self, abort: bool = False) -> None:
        if self.is_alive():
            self._queue.put(_ABORT if abort else _DONE)
            self.join()
        if self.error is not None and not abort:
            raise self.error

    def run(self) -> None:
        copy_cm = None
        rows_in_statement = 0
        item = None
        try:
            while (item := self._queue.get()) is not _DONE and item is not _ABORT:
                text, rows = item
                if copy_cm is None:
                    copy_cm = self._cursor.copy(self._statement)
                    copy = copy_cm.__enter__()
                copy.write(text)
                rows_in_statement += rows
                if rows_in_statement >= self._statement_rows:
                    copy_cm, cm = None, copy_cm
                    cm.__exit__(None, None, None)
                    rows_in_statement = 0
                    if self._after is not None:
                        self._after(self._cursor)
            if copy_cm is not None:
                if item is _DONE:
                    copy_cm, cm = None, copy_cm
                    cm.__exit__(None, None, None)
                    if self._after is not None:
                        self._after(self._cursor)
                else:
                    raise RuntimeError("import aborted")
        except BaseException as exc:  # handed to the reading thread
            self.error = exc
            if copy_cm is not None:
                # Abort the COPY so the connection is usable for the rollback.
                with contextlib.suppress(Exception):
                    copy_cm.__exit__(type(exc), exc, exc.__traceback__)
            # Keep taking batches until told to stop, so the reading thread never blocks.
            while item is not _DONE and item is not _ABORT:
                item = self._queue.get()


class Stage:
    """Inserts recipients (and stores rejections) for one import; use as a context manager and
    call `close()` once the file is read. `seconds_database` is the time the reading thread
    spent waiting on the database, for the import's log line."""

    def __init__(self, *, campaign_id, report_id=None):
        self.vendor = connection.vendor
        self.count = 0
        self.seconds_database = 0.0
        self._campaign = str(db_uuid(campaign_id))
        self._report = None if report_id is None else str(db_uuid(report_id))
        self._cursor = connection.cursor()
        self._writer: _CopyWriter | None = None
        self._rows: list = []
        self._json_keys: dict[str, str] = {}
        self._rejections: list = []
        self._spool = None

    def __enter__(self):
        if self.vendor == "postgresql":
            statement = f"COPY {Recipient._meta.db_table} ({_RECIPIENT_COLUMNS}) FROM STDIN"
            self._writer = _CopyWriter(self._cursor.cursor, statement)
            self._writer.start()
            # Per row: everything but the phone, the values and the line is the same.
            self._head = self._campaign + "\t"
            self._tail = "\t" + "\t".join(map(str, _PENDING_TAIL)) + "\n"
        return self

    def add(self, line: int, phone: str, values: dict) -> None:
        self.count += 1
        if self._writer is not None:
            keys = self._json_keys
            vals = ",".join(
                [
                    (keys.get(k) or keys.setdefault(k, _JSON_STRING(k) + ":")) + _JSON_STRING(v)
                    for k, v in values.items()
                ]
            )
            vals = "{" + vals + "}"
            if "\\" in vals:  # JSON escapes control characters; only the backslash remains
                vals = vals.replace("\\", "\\\\")
            self._rows.append(f"{self._head}{phone}\t{vals}\t{line}{self._tail}")
            if len(self._rows) >= COPY_BATCH:
                self._write_rows()
            return
        self._rows.append((self._campaign, phone, _JSON(values), line, *_PENDING_TAIL))
        if len(self._rows) >= SQLITE_BATCH:
            self._write_rows()

    def reject(self, line: int, kind: str, column: str, reason: str, value: str) -> None:
        """Store one problem row for the report's download."""
        if self._writer is None:
            self._rejections.append((self._report, line, kind, column, reason, value))
            if len(self._rejections) >= SQLITE_BATCH:
                self._write_rejections()
            return
        # The connection is busy with the COPY: spool, and copy them in at close().
        if self._spool is None:
            # Closed in __exit__: it lives as long as the stage.
            self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        fields = "\t".join(map(_copy_text, (kind, column, reason, value)))
        self._spool.write(f"{self._report}\t{line}\t{fields}\n")

    def _write_rows(self) -> None:
        if not self._rows:
            return
        started = time.perf_counter()
        if self._writer is not None:
            # Encoded here, so the writer thread allocates nothing (a thread of its own would
            # get its own malloc arena, and the process ~10 MB more).
            self._writer.send("".join(self._rows).encode(), len(self._rows))
        else:
            self._cursor.executemany(
                f"INSERT INTO {Recipient._meta.db_table} ({_RECIPIENT_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                self._rows,
            )
        self._rows = []
        self.seconds_database += time.perf_counter() - started

    def _write_rejections(self) -> None:
        if self._rejections:
            self._cursor.executemany(
                f"INSERT INTO {ImportRejection._meta.db_table} ({_REJECTION_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                self._rejections,
            )
            self._rejections = []

    def close(self) -> None:
        """Finish the inserts; rejections spooled during the COPY are copied in now."""
        self._write_rows()
        started = time.perf_counter()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.finish()
        self._write_rejections()
        if self._spool is not None:
            self._spool.seek(0)
            table = ImportRejection._meta.db_table
            with self._cursor.cursor.copy(f"COPY {table} ({_REJECTION_COLUMNS}) FROM STDIN") as c:
                while chunk := self._spool.read(SPOOL_READ):
                    c.write(chunk)
        self.seconds_database += time.perf_counter() - started

    def __exit__(self, exc_type, exc, tb):
        if self._writer is not None:
            # An error while reading: stop the writer (it aborts its COPY) before the rollback.
            self._writer.finish(abort=True)
            self._writer = None
        if self._spool is not None:
            self._spool.close()
        self._cursor.close()
        return False
