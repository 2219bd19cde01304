"""`contacts_import`: a CSV, XLSX or JSON list of people into the workspace's contacts
(docs/audiences.md §2), all valid rows or none, in one transaction.

Rows stream from the recipient import's readers (`importing.readers`, `importing.xlsx`) and
numbers go through its normalisation (`importing.phones`); each row is checked (phone, name,
tags, time zone, locale, attribute values), repeats of a number within the file are skipped
(the first row wins, as in the recipient import), and valid rows stream into the database
(contact_stage.py), which merges them by phone: upsert or add_only. A dry run does the same
work and rolls it back, so its counts are exact. `report.contact_list` set: every contact of
the file's valid rows also joins that list.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from functools import partial

from django.utils import timezone

from config.errors import Invalid
from config.redis import get_redis

from ..exports import safe_cell
from ..importing.phones import normalize
from ..importing.readers import FileRejected, RowSource, shown
from ..importing.rows import COUNTRY_COLUMN, MAX_CELL_SHOWN, PHONE_COLUMN, printable
from ..importing.staging import PhoneSet
from ..importing.uploads import import_atomic, is_saved
from ..models import ContactImport
from .contact_fields import (
    ATTRIBUTE_KEY_MAX,
    ATTRIBUTE_VALUE_MAX,
    FieldProblem,
    clean_locale,
    clean_name,
    clean_time_zone,
    split_tags,
)
from .contact_stage import ContactStage

logger = logging.getLogger(__name__)

FIELD_COLUMNS = ("name", "tags", "time_zone", "locale")
INLINE_PROBLEMS = 100
SHOWN_PROBLEMS = 20
FIRST_SCREEN_ROWS = 1_000
PROGRESS_EVERY = 20_000
PROBLEM_COLUMNS = ["line", "kind", "column", "reason", "value"]
_JSON_STRING = json.encoder.encode_basestring
_TAG_CACHE_MAX = 10_000


class ContactListMismatch(Invalid):
    code = "invalid_list"
    field: str | None = "list"


def progress_key(report_id) -> str:
    return f"contact-import-progress:{report_id}"


def contact_import_progress(report_id) -> dict | None:
    """What a running import found so far: rows_read, rejected, skipped_duplicate and the first
    rejected rows; None before its first snapshot."""
    raw = get_redis().get(progress_key(report_id))
    try:
        snapshot = json.loads(raw) if raw else None
    except ValueError:
        return None
    return snapshot if isinstance(snapshot, dict) else None


def contacts_import(*, report: ContactImport, source: RowSource, problems_to=None) -> ContactImport:
    """Import `source` into `report.workspace` (mode, dry run and list from the report),
    filling the report and saving it unless it is an unsaved dry run. `problems_to` (a text
    file) receives every row not imported as CSV (the dashboard's preview). Raises
    FileRejected with nothing imported."""
    persist = is_saved(report)
    report.status = ContactImport.Status.RUNNING
    if persist:
        report.save(update_fields=["status"])
    return import_atomic(
        report,
        body=lambda: _run(report, source, persist=persist, problems_to=problems_to),
        finish=partial(_finish, report, persist),
    )


def _finish(report: ContactImport, persist: bool, *, status: str, error: str = "") -> None:
    report.status, report.error, report.finished_at = status, error, timezone.now()
    if persist:
        report.save()
        get_redis().delete(progress_key(report.pk))


class _Problems:
    """The first problems for the report (rejected rows first, then duplicates, each in file
    order), every one to the stage (stored) and to `problems_to` (CSV)."""

    def __init__(self, stage: ContactStage, problems_to):
        self.stage = stage
        self.rejected: list[dict] = []
        self.skipped: list[dict] = []
        self.writer = csv.writer(problems_to) if problems_to is not None else None
        if self.writer is not None:
            self.writer.writerow(PROBLEM_COLUMNS)

    def add(self, line: int, column: str, reason: str, value: str, kind: str = "rejected"):
        value = printable(value[:MAX_CELL_SHOWN])
        sample = self.rejected if kind == "rejected" else self.skipped
        if len(sample) < INLINE_PROBLEMS:
            sample.append(
                {"line": line, "column": column, "reason": reason, "value": value, "kind": kind}
            )
        self.stage.reject(line, column, reason, value)
        if self.writer is not None:
            self.writer.writerow([safe_cell(v) for v in (line, kind, column, reason, value)])

    def sample(self) -> list[dict]:
        first = [*self.rejected, *self.skipped][:INLINE_PROBLEMS]
        return sorted(first, key=lambda p: p["line"])


def _layout(columns: list[str]) -> tuple[dict[str, int], list[tuple[int, str]], list[str]]:
    """(field → index, [(index, attribute key prefix as JSON)], warnings) for the header."""
    if PHONE_COLUMN not in columns:
        raise FileRejected(
            "Missing required column: phone_number (and country_code, unless every number "
            "starts with +)."
        )
    at = {name: i for i, name in enumerate(columns) if name}
    fields = {name: at.get(name, -1) for name in (PHONE_COLUMN, COUNTRY_COLUMN, *FIELD_COLUMNS)}
    attributes, warnings = [], []
    for i, name in enumerate(columns):
        if not name or name in fields:
            continue
        if len(name) > ATTRIBUTE_KEY_MAX:
            warnings.append(
                f"Column {shown(name)!r} has a name longer than {ATTRIBUTE_KEY_MAX} characters "
                "and was ignored."
            )
            continue
        attributes.append((i, _JSON_STRING(name) + ":"))
    return fields, attributes, warnings


def _run(report: ContactImport, source: RowSource, *, persist: bool, problems_to) -> None:
    started = time.perf_counter()
    contact_list = report.contact_list if report.contact_list_id is not None else None
    if contact_list is not None and contact_list.workspace_id != report.workspace_id:
        raise ContactListMismatch("The list belongs to another workspace.")
    fields, attributes, warnings = _layout(source.columns)
    phone_at, country_at = fields[PHONE_COLUMN], fields[COUNTRY_COLUMN]
    name_at, tags_at = fields["name"], fields["tags"]
    zone_at, locale_at = fields["time_zone"], fields["locale"]
    width = len(source.columns)
    header_cells = source.header_cells or width
    stored = persist and not report.dry_run
    seen = PhoneSet(source.estimated_rows or 0)
    visit, first_line = seen.visit, PhoneSet.first_line
    tag_json: dict[str, str] = {}
    redis = get_redis() if persist else None
    rows_read = rejected = duplicates = 0
    stage = ContactStage(
        workspace_id=report.workspace_id,
        report_id=report.pk if stored else None,
        upsert=report.mode == ContactImport.Mode.UPSERT,
        contact_list_id=report.contact_list_id,
    )
    with stage:
        problems = _Problems(stage, problems_to)
        add, problem = stage.add, problems.add
        for line, cells in source.lists():
            rows_read += 1
            if len(cells) > width:
                rejected += 1
                problem(
                    line,
                    "",
                    f"the row has {len(cells)} cells but the header has {header_cells} "
                    "columns: a comma inside a value needs quotes",
                    shown(",".join(cells)),
                )
                continue
            raw = cells[phone_at]
            e164, reason = normalize(cells[country_at] if country_at >= 0 else None, raw)
            phone = e164 or ""
            bad = 0
            if reason is not None:
                problem(line, PHONE_COLUMN, reason, raw)
                bad = 1
            name = cells[name_at] if name_at >= 0 else ""
            if len(name) > 200 or "\x00" in name:
                bad = _refuse(problem, line, "name", clean_name, name) or bad
            zone = cells[zone_at] if zone_at >= 0 else ""
            if zone:
                bad = _refuse(problem, line, "time_zone", clean_time_zone, zone) or bad
            locale = cells[locale_at] if locale_at >= 0 else ""
            if locale:
                try:
                    locale = clean_locale(locale)
                except FieldProblem as exc:
                    problem(line, "locale", str(exc), locale)
                    bad = 1
            tags = "[]"
            if tags_at >= 0 and (cell := cells[tags_at]):
                tags = tag_json.get(cell) or ""
                if not tags:
                    try:
                        tags = json.dumps(split_tags(cell), ensure_ascii=False)
                    except FieldProblem as exc:
                        problem(line, "tags", str(exc), cell)
                        bad, tags = 1, "[]"
                    else:
                        if len(tag_json) < _TAG_CACHE_MAX:
                            tag_json[cell] = tags
            pairs = []
            for i, key in attributes:
                value = cells[i]
                if value:
                    if len(value) > ATTRIBUTE_VALUE_MAX or "\x00" in value:
                        problem(
                            line,
                            source.columns[i],
                            f"{len(value)} characters or a NUL character; an attribute holds "
                            f"at most {ATTRIBUTE_VALUE_MAX} characters of text",
                            value,
                        )
                        bad = 1
                    pairs.append(key + _JSON_STRING(value))
            if bad:
                rejected += 1
            elif known := visit(phone, line):
                duplicates += 1
                problem(
                    line, PHONE_COLUMN, f"duplicate of line {first_line(known)}", phone, "skipped"
                )
            else:
                add(phone, name, tags, "{" + ",".join(pairs) + "}", locale, zone)
            if redis is not None and (
                rows_read % PROGRESS_EVERY == 0 or rows_read == FIRST_SCREEN_ROWS
            ):
                snapshot = {
                    "rows_read": rows_read,
                    "rejected": rejected,
                    "skipped_duplicate": duplicates,
                    "warnings": [*warnings, *source.warnings],
                    "rejected_rows": problems.sample()[:SHOWN_PROBLEMS],
                }
                redis.set(progress_key(report.pk), json.dumps(snapshot), ex=3600)
        if rows_read == 0:
            raise FileRejected("The file has a header but no rows.")
        stage.close()
    report.rows_read = rows_read
    report.created, report.updated, report.unchanged = stage.created, stage.updated, stage.unchanged
    report.rejected, report.skipped_duplicate = rejected, duplicates
    report.warnings = [*warnings, *source.warnings]
    report.rejected_sample = problems.sample()
    logger.info(
        "contacts imported",
        extra={
            "workspace_id": str(report.workspace_id),
            "rows": rows_read,
            "contacts_created": stage.created,
            "contacts_updated": stage.updated,
            "rejected": rejected,
            "dry_run": report.dry_run,
            "seconds": round(time.perf_counter() - started, 3),
            "seconds_database": round(stage.seconds_database, 3),
        },
    )


def _refuse(problem, line: int, column: str, check, value: str) -> int:
    try:
        check(value)
    except FieldProblem as exc:
        problem(line, column, str(exc), value)
        return 1
    return 0
