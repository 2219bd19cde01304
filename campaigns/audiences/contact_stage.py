"""Where a contacts import's rows go (docs/audiences.md §2): the contacts table, in bulk.

PostgreSQL: valid rows are COPYed into a temporary staging table while the file is still being
read (the recipient import's COPY writer thread, `importing.staging._CopyWriter`, so the
server works while Python reads). Every MERGE_ROWS rows, in that thread, one `INSERT … SELECT
… ON CONFLICT (workspace_id, phone)` merges the staged rows into the contacts and the stage is
emptied: the merge too runs while Python reads on (the file's repeats were dropped before, so
no two merges touch one number). `DO UPDATE … WHERE` something would change (upsert) or `DO
NOTHING` (add_only); `RETURNING xmax = 0` tells created rows from updated ones, and the rest
of the staged rows were unchanged. All of it is one transaction: a failure leaves nothing.
Rejections found during the COPY are spooled to a temporary file and copied in afterwards.
SQLite (`make run`): the same merge in Python, a batch at a time.

Merge rules (upsert): an empty cell changes nothing; a name, locale or time zone given
replaces the stored one; tags given are added to the stored ones; attributes given replace
those keys and keep the others.
"""

import json
import tempfile
import time
import uuid
from typing import IO

from django.db import connection
from django.utils import timezone

from accounts.models import Workspace

from ..importing.staging import COPY_BATCH, _CopyWriter
from ..models import Contact, ContactImportRejection, ContactListMember

SQLITE_BATCH = 2_000
# Rows per merge: each merge waits for its COPY to end; the last one runs after the file is read.
MERGE_ROWS = 50_000
SPOOL_READ = 1 << 20
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_REJECTION_COLUMNS = 'report_id, line, "column", reason, value'
_STAGE_COLUMNS = "phone, name, tags, attributes, locale, time_zone"


def copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _merge_sql(contacts: str, stage: str, upsert: bool) -> str:
    insert = (
        f"INSERT INTO {contacts} AS c (workspace_id, {_STAGE_COLUMNS}, created_at, updated_at) "
        f"SELECT %(ws)s, {_STAGE_COLUMNS}, %(now)s, %(now)s FROM {stage} "
        "ON CONFLICT (workspace_id, phone) "
    )
    if not upsert:
        return f"WITH ins AS ({insert} DO NOTHING RETURNING 1) SELECT count(*), 0 FROM ins"
    keep = "CASE WHEN EXCLUDED.{0} <> '' THEN EXCLUDED.{0} ELSE c.{0} END"
    changed = "(EXCLUDED.{0} <> '' AND EXCLUDED.{0} <> c.{0})"
    update = (
        "DO UPDATE SET "
        + ", ".join(f"{f} = {keep.format(f)}" for f in ("name", "locale", "time_zone"))
        + ", tags = c.tags || (SELECT coalesce(jsonb_agg(t.v ORDER BY t.o), '[]'::jsonb) "
        "FROM jsonb_array_elements(EXCLUDED.tags) WITH ORDINALITY AS t(v, o) "
        "WHERE NOT c.tags @> jsonb_build_array(t.v))"
        ", attributes = c.attributes || EXCLUDED.attributes, updated_at = %(now)s WHERE "
        + " OR ".join(changed.format(f) for f in ("name", "locale", "time_zone"))
        + " OR NOT c.tags @> EXCLUDED.tags OR NOT c.attributes @> EXCLUDED.attributes"
    )
    return (
        f"WITH ins AS ({insert} {update} RETURNING (xmax = 0) AS created) "
        "SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM ins"
    )


class ContactStage:
    """Use as a context manager; `add` each valid row, `reject` each problem (when stored),
    then `close()` merges. Afterwards: `created`, `updated`, `unchanged`."""

    def __init__(self, *, workspace_id, report_id, upsert: bool, contact_list_id=None):
        self.vendor = connection.vendor
        self.upsert = upsert
        self.count = self.created = self.updated = self.unchanged = 0
        self.seconds_database = 0.0
        self._workspace = workspace_id
        self._report = report_id
        self._list = contact_list_id
        self._cursor = connection.cursor()
        self._writer: _CopyWriter | None = None
        self._rows: list = []
        self._rejections: list = []
        self._spool: IO[str] | None = None
        self._stage = f"contact_stage_{uuid.uuid4().hex[:12]}"
        self._now = timezone.now()

    def __enter__(self):
        if self.vendor == "postgresql":
            # What the foreign key's check would do per row, once (see Contact.workspace).
            self._cursor.execute(
                f"SELECT 1 FROM {Workspace._meta.db_table} WHERE id = %s FOR KEY SHARE",
                [self._workspace],
            )
            self._cursor.execute(
                f"CREATE TEMPORARY TABLE {self._stage} (phone text, name text, tags jsonb, "
                "attributes jsonb, locale text, time_zone text)"
            )
            statement = f"COPY {self._stage} ({_STAGE_COLUMNS}) FROM STDIN"
            self._writer = _CopyWriter(
                self._cursor.cursor, statement, statement_rows=MERGE_ROWS, after=self._merge_staged
            )
            self._writer.start()
        return self

    def add(self, phone: str, name: str, tags: str, attributes: str, locale: str, zone: str):
        """One valid row: `tags` and `attributes` as JSON text (see contact_import)."""
        self.count += 1
        if self._writer is not None:
            if "\\" in tags:
                tags = tags.replace("\\", "\\\\")
            if "\\" in attributes:
                attributes = attributes.replace("\\", "\\\\")
            self._rows.append(
                f"{phone}\t{copy_text(name)}\t{tags}\t{attributes}\t{locale}\t{zone}\n"
            )
            if len(self._rows) >= COPY_BATCH:
                self._flush()
            return
        self._rows.append((phone, name, tags, attributes, locale, zone))
        if len(self._rows) >= SQLITE_BATCH:
            self._flush()

    def reject(self, line: int, column: str, reason: str, value: str) -> None:
        if self._report is None:
            return
        if self._writer is None:
            self._rejections.append((self._report, line, column, reason, value))
            return
        if self._spool is None:
            # Closed in __exit__: it lives as long as the stage.
            self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        fields = "\t".join(map(copy_text, (column, reason, value)))
        self._spool.write(f"{self._report}\t{line}\t{fields}\n")

    def _flush(self) -> None:
        if not self._rows:
            return
        started = time.perf_counter()
        if self._writer is not None:
            self._writer.send("".join(self._rows).encode(), len(self._rows))
        else:
            self._merge_batch(self._rows)
        self._rows = []
        self.seconds_database += time.perf_counter() - started

    def close(self) -> None:
        """Finish the COPY, merge, join the list, store the rejections."""
        self._flush()
        started = time.perf_counter()
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.finish()  # the last rows merged
            self._cursor.execute(f"DROP TABLE {self._stage}")
            if self._spool is not None:
                self._spool.seek(0)
                table = ContactImportRejection._meta.db_table
                copy = f"COPY {table} ({_REJECTION_COLUMNS}) FROM STDIN"
                with self._cursor.cursor.copy(copy) as c:
                    while chunk := self._spool.read(SPOOL_READ):
                        c.write(chunk)
        elif self._rejections:
            ContactImportRejection.objects.bulk_create(
                ContactImportRejection(report_id=r, line=n, column=col, reason=why, value=v)
                for r, n, col, why, v in self._rejections
            )
        self.unchanged = self.count - self.created - self.updated
        self.seconds_database += time.perf_counter() - started

    def _merge_staged(self, c) -> None:
        """In the COPY thread (`c`: its psycopg cursor), after each COPY statement: the staged
        rows merged into the contacts (and the list), then the stage emptied."""
        params = {"ws": self._workspace, "now": self._now}
        c.execute(_merge_sql(Contact._meta.db_table, self._stage, self.upsert), params)
        created, updated = c.fetchone()
        self.created += created
        self.updated += updated
        if self._list is not None:
            c.execute(f"ANALYZE {self._stage}")  # the join's plan: a chunk, not the table
            c.execute(
                f"INSERT INTO {ContactListMember._meta.db_table} "
                "(contact_list_id, contact_id, added_at) "
                f"SELECT %(list)s, k.id, %(now)s FROM {self._stage} s "
                f"JOIN {Contact._meta.db_table} k ON k.workspace_id = %(ws)s AND k.phone = s.phone "
                "ON CONFLICT (contact_list_id, contact_id) DO NOTHING",
                {**params, "list": self._list},
            )
        c.execute(f"TRUNCATE {self._stage}")

    def _merge_batch(self, rows: list) -> None:
        """SQLite: the PostgreSQL statement's rules, in Python, for one batch."""
        existing = {
            c.phone: c
            for c in Contact.objects.filter(
                workspace_id=self._workspace, phone__in=[r[0] for r in rows]
            )
        }
        now = self._now
        new, changed = [], []
        for phone, name, tags, attributes, locale, zone in rows:
            tags, attributes = json.loads(tags), json.loads(attributes)
            contact = existing.get(phone)
            if contact is None:
                new.append(
                    Contact(
                        workspace_id=self._workspace,
                        phone=phone,
                        name=name,
                        tags=tags,
                        attributes=attributes,
                        locale=locale,
                        time_zone=zone,
                        created_at=now,
                        updated_at=now,
                    )
                )
            elif self.upsert and _merged(contact, name, tags, attributes, locale, zone):
                contact.updated_at = now
                changed.append(contact)
        Contact.objects.bulk_create(new)
        fields = ["name", "tags", "attributes", "locale", "time_zone", "updated_at"]
        Contact.objects.bulk_update(changed, fields)
        self.created += len(new)
        self.updated += len(changed)
        if self._list is not None:
            ids = [c.pk for c in new] + [c.pk for c in existing.values()]
            ContactListMember.objects.bulk_create(
                [ContactListMember(contact_list_id=self._list, contact_id=i) for i in ids],
                ignore_conflicts=True,
            )

    def __exit__(self, exc_type, exc, tb):
        if self._writer is not None:
            self._writer.finish(abort=True)
            self._writer = None
        if self._spool is not None:
            self._spool.close()
        self._cursor.close()
        return False


def _merged(contact: Contact, name, tags, attributes, locale, zone) -> bool:
    """Apply the upsert rules to `contact`; True when something changed."""
    before = [contact.name, list(contact.tags), dict(contact.attributes)]
    before += [contact.locale, contact.time_zone]
    contact.name = name or contact.name
    contact.locale = locale or contact.locale
    contact.time_zone = zone or contact.time_zone
    contact.tags = [*contact.tags, *(t for t in tags if t not in contact.tags)]
    contact.attributes = {**contact.attributes, **attributes}
    after = [contact.name, contact.tags, contact.attributes, contact.locale, contact.time_zone]
    return after != before
