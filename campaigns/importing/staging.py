"""The staging table an import writes its valid rows to before they become recipients.

Rows go in with COPY on PostgreSQL (batched inserts on SQLite); duplicates within the file,
numbers already in the campaign and opted-out numbers are then found with set-based SQL and
the rest is inserted into the recipients table in one statement. Everything runs inside the
import's transaction, so a failure leaves no trace. The process memory stays flat however
large the file: the database holds the rows, not Python.
"""

import contextlib
import json

from django.db import connection

from ..models import Recipient

TABLE = "import_stage"
SQLITE_BATCH = 5_000


def _json(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


class Stage:
    def __init__(self):
        self.vendor = connection.vendor
        self.count = 0
        self._cursor = connection.cursor()
        self._copy = None
        self._copy_cm = None
        self._batch: list[tuple] = []

    def __enter__(self):
        c = self._cursor
        c.execute(f"DROP TABLE IF EXISTS {TABLE}")
        if self.vendor == "postgresql":
            c.execute(
                f"CREATE TEMP TABLE {TABLE} (line integer, phone varchar(20), vals text) "
                "ON COMMIT DROP"
            )
            self._copy_cm = c.cursor.copy(f"COPY {TABLE} (line, phone, vals) FROM STDIN")
            self._copy = self._copy_cm.__enter__()
        else:
            c.execute(f"CREATE TEMP TABLE {TABLE} (line integer, phone text, vals text)")
        return self

    def add(self, line: int, phone: str, values: dict) -> None:
        self.count += 1
        if self._copy is not None:
            self._copy.write_row((line, phone, _json(values)))
            return
        self._batch.append((line, phone, _json(values)))
        if len(self._batch) >= SQLITE_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._cursor.executemany(
                f"INSERT INTO {TABLE} (line, phone, vals) VALUES (%s, %s, %s)", self._batch
            )
            self._batch = []

    def close_input(self) -> None:
        if self._copy_cm is not None:
            self._copy_cm.__exit__(None, None, None)
            self._copy_cm = self._copy = None
        self._flush()
        self._cursor.execute(f"CREATE INDEX {TABLE}_phone ON {TABLE} (phone, line)")

    def __exit__(self, exc_type, exc, tb):
        if self._copy_cm is not None:
            # Abort the COPY so the connection is usable for the rollback; the original error
            # is the one that matters.
            with contextlib.suppress(Exception):
                self._copy_cm.__exit__(exc_type, exc, tb)
        if self.vendor != "postgresql":
            self._cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self._cursor.close()
        return False

    # --- set-based steps ----------------------------------------------------------------------

    def take_file_duplicates(self):
        """Rows repeating a number seen earlier in the file: yield (line, phone, first line)
        and remove them from the stage."""
        c = self._cursor
        c.execute(
            f"SELECT s.line, s.phone, f.first FROM {TABLE} s JOIN (SELECT phone, MIN(line) AS "
            f"first FROM {TABLE} GROUP BY phone HAVING COUNT(*) > 1) f ON f.phone = s.phone "
            "WHERE s.line > f.first ORDER BY s.line"
        )
        rows = c.fetchall()
        if rows:
            c.execute(
                f"DELETE FROM {TABLE} WHERE line IN (SELECT s.line FROM {TABLE} s JOIN "
                f"(SELECT phone, MIN(line) AS first FROM {TABLE} GROUP BY phone) f "
                "ON f.phone = s.phone WHERE s.line > f.first)"
            )
        return rows

    def take_matching(self, table: str, where: str, param) -> list[tuple]:
        """Rows whose number is already in `table` (filtered by `where`): yield (line, phone)
        and remove them from the stage."""
        c = self._cursor
        join = f"FROM {TABLE} s JOIN {table} t ON t.phone = s.phone AND t.{where} = %s"
        c.execute(f"SELECT s.line, s.phone {join} ORDER BY s.line", [param])
        rows = c.fetchall()
        if rows:
            c.execute(f"DELETE FROM {TABLE} WHERE line IN (SELECT s.line {join})", [param])
        return rows

    def first_rows(self, n: int) -> list[tuple[int, str, dict]]:
        self._cursor.execute(f"SELECT line, phone, vals FROM {TABLE} ORDER BY line LIMIT %s", [n])
        return [(line, phone, json.loads(vals)) for line, phone, vals in self._cursor.fetchall()]

    def insert_recipients(self, campaign_id) -> int:
        table = Recipient._meta.db_table
        vals = "vals::jsonb" if self.vendor == "postgresql" else "vals"
        self._cursor.execute(
            f'INSERT INTO {table} (campaign_id, phone, "values", source_line, status, '
            "skip_reason, attempts, claimed_by, message_status, error_title, error_details, "
            f"pricing_category) SELECT %s, phone, {vals}, line, 'pending', '', 0, '', '', '', "
            f"'', '' FROM {TABLE} ORDER BY line",
            [db_uuid(campaign_id)],
        )
        return self._cursor.rowcount


def db_uuid(value):
    """UUIDs as the backend stores them (SQLite: 32 hex characters)."""
    return value if connection.vendor == "postgresql" else value.hex
