"""A campaign's audience into ordinary recipients, when it is sent (or its schedule fires),
and the preview of that before (docs/audiences.md §5).

The audience (lists and segments, minus exclusions) is one contacts query. Numbers on the
workspace's opt-out list and numbers already in the campaign (an uploaded file) are skipped;
a contact whose mapped values fail the import's checks (`RowChecker`: missing, blank, too
long, a line break…) is rejected. Everything is reported in an `ImportReport` with source
"audience" and its `ImportRejection`s (`line` is the contact's id), like an uploaded file.

On PostgreSQL the recipients are written by one `INSERT … SELECT` building `values` with
`jsonb_build_object`; Python sees only the *suspects*: the contacts a conservative SQL test
cannot clear (a value missing, blank, too long, with a forbidden character, a URL or a rich
value), checked there with the import's own code. On SQLite every contact goes through Python.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from whatsapp.payload import _TEXT_KINDS
from whatsapp.payload_parts import RICH_KINDS
from whatsapp.variables import BODY_TEXT_MAX, Variable, body_text_parts

from ..importing.pipeline import INLINE_PROBLEMS, PREVIEW_ROWS, _rendered, campaign_variables
from ..importing.rows import PHONE_COLUMN, Problem, RowChecker
from ..importing.staging import db_uuid
from ..models import Campaign, Contact, ImportRejection, ImportReport, OptOut, Recipient, Segment
from ..tracking.counters import counters_apply
from .mapping import Source, contact_values, mapping_sources
from .segments import list_condition, segment_condition

logger = logging.getLogger(__name__)

RECIPIENTS = Recipient._meta.db_table
REJECTIONS = ImportRejection._meta.db_table
OPTOUTS = OptOut._meta.db_table
_CONTACT = ("id", "phone", "name", "locale", "time_zone", "attributes")
FETCH = 5_000
PAIRS_PER_CALL = 40  # jsonb_build_object takes at most 100 arguments
# What the SQL test must refuse to clear (conservative restatements of check_value's rules).
_TEXT_BAD = "[\n\r\t]| {5,}"  # whatsapp.payload._BAD_TEXT
_PRINTABLE = "[!-~]"  # a printable ASCII character: the value is not blank for Python either
_URL_SAFE = "^[!-~]+$"
_HTTP = "^https?://[!-~]+$"


def audience_contacts(*, workspace_id, audience: dict) -> QuerySet[Contact]:
    """The contacts of `audience`: in any of its lists or segments, in none of its exclusions.
    One query over the contacts: each list and segment a condition on the contact row (no
    join back to the contacts table per part)."""

    def union(list_key: str, segment_key: str) -> Q | None:
        parts = []
        if audience.get(list_key):
            parts.append(list_condition(workspace_id=workspace_id, list_ids=audience[list_key]))
        segments = Segment.objects.filter(
            workspace_id=workspace_id, pk__in=audience.get(segment_key) or []
        )
        for rules in segments.values_list("rules", flat=True):
            parts.append(segment_condition(workspace_id=workspace_id, rules=rules))
        return reduce(or_, parts) if parts else None

    contacts = Contact.objects.filter(workspace_id=workspace_id)
    included = union("lists", "segments")
    if included is None:
        return contacts.none()
    contacts = contacts.filter(included)
    excluded = union("exclude_lists", "exclude_segments")
    if excluded is not None:
        contacts = contacts.exclude(excluded)
    return contacts.order_by()


@dataclass
class _Plan:
    """One campaign's audience as SQL pieces (each a (sql, params) pair) and its checker."""

    campaign: Campaign
    variables: list[Variable]
    sources: dict[str, Source]
    checker: RowChecker
    audience: tuple[str, list]
    existing: tuple[str, list]
    opted_out: tuple[str, list]
    problems: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, campaign: Campaign) -> _Plan:
        template = campaign.template
        variables = campaign_variables(campaign)
        checker = RowChecker.for_columns(
            variables,
            [PHONE_COLUMN, *(v.column for v in variables)],
            body=body_text_parts(
                components=template.components, parameter_format=template.parameter_format
            ),
        )
        qs = audience_contacts(workspace_id=campaign.workspace_id, audience=campaign.audience)
        sql, params = qs.values(*_CONTACT).query.sql_with_params()
        return cls(
            campaign=campaign,
            variables=variables,
            sources=mapping_sources(campaign.mapping),
            checker=checker,
            audience=(f"({sql}) c", list(params)),
            existing=(
                f"EXISTS (SELECT 1 FROM {RECIPIENTS} r "
                "WHERE r.campaign_id = %s AND r.phone = c.phone)",
                [db_uuid(campaign.pk)],
            ),
            opted_out=(
                f"EXISTS (SELECT 1 FROM {OPTOUTS} o "
                "WHERE o.workspace_id = %s AND o.phone = c.phone)",
                [db_uuid(campaign.workspace_id)],
            ),
        )

    @property
    def eligible(self) -> tuple[str, list]:
        return (
            f"NOT {self.existing[0]} AND NOT {self.opted_out[0]}",
            [*self.existing[1], *self.opted_out[1]],
        )

    # --- PostgreSQL: the values and the suspects' test, in SQL ---------------------------

    def _expression(self, source: Source) -> tuple[str, list]:
        if source.kind == "field":
            return f'c."{source.arg}"', []
        if source.kind == "attribute":
            return "(c.attributes ->> %s)", [source.arg]
        return "%s::text", [source.arg]

    def values_sql(self) -> tuple[str, list]:
        pairs: list[tuple[str, list]] = []
        for column, source in self.sources.items():
            sql, params = self._expression(source)
            pairs.append((f"%s::text, NULLIF({sql}, '')", [column, *params]))
        if not pairs:
            return "'{}'::jsonb", []
        calls, params = [], []
        for start in range(0, len(pairs), PAIRS_PER_CALL):
            chunk = pairs[start : start + PAIRS_PER_CALL]
            calls.append(f"jsonb_build_object({', '.join(p for p, _ in chunk)})")
            params += [v for _, ps in chunk for v in ps]
        return f"jsonb_strip_nulls({' || '.join(calls)})", params

    def suspect_sql(self) -> tuple[str, list]:
        """True for a contact whose values the SQL cannot clear (Python checks those)."""
        if connection.vendor != "postgresql":
            return "1 = 1", []
        tests: list[tuple[str, list]] = []
        body_static, times = body_text_parts(
            components=self.campaign.template.components,
            parameter_format=self.campaign.template.parameter_format,
        )
        lengths: list[tuple[str, list]] = []
        for variable in self.variables:
            source = self.sources.get(variable.column)
            if source is None:
                if variable.required:
                    tests.append(("TRUE", []))
                continue
            e, p = self._expression(source)
            if times.get(variable.column):
                lengths.append(
                    (f"%s * COALESCE(char_length({e}), 0)", [times[variable.column], *p])
                )
            if source.kind == "text":
                if variable.kind == "expiration":  # may have ended since it was mapped
                    tests.append(("TRUE", []))
                continue
            kind = variable.kind
            if variable.required:
                tests.append((f"{e} IS NULL OR {e} !~ %s", [*p, *p, _PRINTABLE]))
            if variable.max_length is not None:
                tests.append((f"char_length({e}) > %s", [*p, variable.max_length]))
            if kind in _TEXT_KINDS:
                tests.append((f"{e} ~ %s", [*p, _TEXT_BAD]))
            elif kind == "url":
                tests.append((f"{e} !~ %s", [*p, _URL_SAFE]))
            elif kind in RICH_KINDS:
                tests.append(("TRUE", []))
            else:
                tests.append((f"{e} !~ %s", [*p, _HTTP]))
        if lengths:
            total = " + ".join(s for s, _ in lengths)
            room = BODY_TEXT_MAX - body_static
            tests.append((f"({total}) > %s", [v for _, ps in lengths for v in ps] + [room]))
        if not tests:
            return "FALSE", []
        sql = " OR ".join(f"COALESCE(({s}), TRUE)" for s, _ in tests)
        return f"({sql})", [v for _, ps in tests for v in ps]

    # --- Python: the import's own checks ------------------------------------------------

    def check(self, row: tuple) -> tuple[dict, list[Problem]]:
        contact = dict(zip(_CONTACT, row, strict=True))
        decode = Contact._meta.get_field("attributes").from_db_value
        contact["attributes"] = decode(contact["attributes"], None, connection) or {}  # type: ignore[arg-type]
        values = contact_values(self.sources, contact)
        cells = {PHONE_COLUMN: contact["phone"], **{k: v or "" for k, v in values.items()}}
        _, stored, problems = self.checker.check(contact["id"], cells)
        for problem in problems:
            source = self.sources.get(problem.column)
            given = f" (from {source})" if source is not None else " (not mapped)"
            if problem.column == PHONE_COLUMN:
                given = ""
            problem.reason = f"{contact['phone']}: {problem.reason}{given}"
        return stored, problems


def _sql(cursor, sql: str, params: list) -> None:
    cursor.execute(sql, params)


def _figures(plan: _Plan, cursor) -> tuple[int, int, int]:
    """(contacts in the audience, already in the campaign, opted out)."""
    a, ap = plan.audience
    ex, exp = plan.existing
    op, opp = plan.opted_out
    _sql(
        cursor,
        f"""SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN {ex} THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN {op} AND NOT {ex} THEN 1 ELSE 0 END), 0)
            FROM {a}""",
        [*exp, *opp, *exp, *ap],
    )
    total, existing, opted = cursor.fetchone()
    return int(total), int(existing), int(opted)


def _skipped_sample(plan: _Plan, cursor) -> list[dict]:
    a, ap = plan.audience
    ex, exp = plan.existing
    op, opp = plan.opted_out
    _sql(
        cursor,
        f"""SELECT c.id, c.phone, CASE WHEN {ex} THEN 1 ELSE 0 END FROM {a}
            WHERE {ex} OR {op} ORDER BY c.id LIMIT %s""",
        [*exp, *ap, *exp, *opp, INLINE_PROBLEMS],
    )
    return [
        Problem(
            line,
            PHONE_COLUMN,
            "already in this campaign" if existing else "opted out",
            phone,
            kind="skipped",
        ).as_dict()
        for line, phone, existing in cursor.fetchall()
    ]


def _first_messages(plan: _Plan, cursor) -> list[dict]:
    a, ap = plan.audience
    el, elp = plan.eligible
    cols = ", ".join(f"c.{c}" for c in _CONTACT)
    _sql(cursor, f"SELECT {cols} FROM {a} WHERE {el} ORDER BY c.id LIMIT %s", [*ap, *elp, 50])
    first = []
    for row in cursor.fetchall():
        values, problems = plan.check(row)
        if not problems:
            first.append((row[0], row[1], values))
        if len(first) >= PREVIEW_ROWS:
            break
    return _rendered(plan.campaign.template, first)


def _check_suspects(
    plan: _Plan, *, store_report=None, insert_rows: bool = False
) -> tuple[int, int]:
    """Run the suspects through Python: returns (rejected, inserted). Rejections are stored
    for `store_report`; with `insert_rows` (SQLite), the valid rows are inserted here."""
    a, ap = plan.audience
    el, elp = plan.eligible
    sus, susp = plan.suspect_sql()
    cols = ", ".join(f"c.{c}" for c in _CONTACT)
    rejected = inserted = 0
    rows_out: list[tuple] = []
    rejections: list[tuple] = []
    report_id = db_uuid(store_report.pk) if store_report is not None else None
    campaign_id = db_uuid(plan.campaign.pk)
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT {cols} FROM {a} WHERE {el} AND {sus} ORDER BY c.id", [*ap, *elp, *susp]
        )
        while batch := cursor.fetchmany(FETCH):
            for row in batch:
                values, problems = plan.check(row)
                if problems:
                    rejected += 1
                    for problem in problems:
                        if len(plan.problems) < INLINE_PROBLEMS:
                            plan.problems.append(problem.as_dict())
                        if report_id is not None:
                            rejections.append(
                                (report_id, row[0], "rejected", problem.column, problem.reason,
                                 problem.value)
                            )  # fmt: skip
                elif insert_rows:
                    rows_out.append((campaign_id, row[1], _json(values), row[0]))
            with connection.cursor() as w:
                if rejections:
                    w.executemany(
                        f"INSERT INTO {REJECTIONS} "
                        '(report_id, line, kind, "column", reason, value) '
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        rejections,
                    )
                if rows_out:
                    w.executemany(
                        f'INSERT INTO {RECIPIENTS} (campaign_id, phone, "values", status, '
                        "skip_reason, attempts, claimed_by, message_status, error_title, "
                        "error_details, pricing_category, contact_id) "
                        "VALUES (%s, %s, %s, 'pending', '', 0, '', '', '', '', '', %s)",
                        rows_out,
                    )
            inserted += len(rows_out)
            rejections, rows_out = [], []
    return rejected, inserted


def _json(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _insert_sql_rows(plan: _Plan, cursor, report: ImportReport) -> int:
    """PostgreSQL: every eligible contact not rejected, in one INSERT … SELECT."""
    a, ap = plan.audience
    el, elp = plan.eligible
    sus, susp = plan.suspect_sql()
    vals, valp = plan.values_sql()
    _sql(
        cursor,
        f"""INSERT INTO {RECIPIENTS} (campaign_id, phone, "values", status, skip_reason, attempts,
                claimed_by, message_status, error_title, error_details, pricing_category,
                contact_id)
            SELECT %s, c.phone, {vals}, 'pending', '', 0, '', '', '', '', '', c.id
            FROM {a}
            WHERE {el} AND (NOT {sus} OR NOT EXISTS (
                SELECT 1 FROM {REJECTIONS} j WHERE j.report_id = %s AND j.line = c.id
                  AND j.kind = 'rejected'))""",
        [db_uuid(plan.campaign.pk), *valp, *ap, *elp, *susp, db_uuid(report.pk)],
    )
    return cursor.rowcount


def _store_skipped(plan: _Plan, cursor, report: ImportReport) -> tuple[int, int]:
    """Every number skipped (already in the campaign, opted out) as a report row: their
    counts."""
    a, ap = plan.audience
    ex, exp = plan.existing
    op, opp = plan.opted_out
    report_id = db_uuid(report.pk)
    counts = []
    for reason, where, params in (
        ("already in this campaign", ex, exp),
        ("opted out", f"{op} AND NOT {ex}", [*opp, *exp]),
    ):
        _sql(
            cursor,
            f"""INSERT INTO {REJECTIONS} (report_id, line, kind, "column", reason, value)
                SELECT %s, c.id, 'skipped', %s, %s, c.phone FROM {a} WHERE {where}""",
            [report_id, PHONE_COLUMN, reason, *ap, *params],
        )
        counts.append(cursor.rowcount)
    return counts[0], counts[1]


def audience_preview(*, campaign: Campaign) -> ImportReport:
    """What resolving the audience now would do, as an unsaved report: `rows_read` contacts,
    `imported` recipients, the rejected and skipped contacts, the first messages."""
    plan = _Plan.of(campaign)
    report = ImportReport(campaign=campaign, source="audience", status="completed")
    with connection.cursor() as cursor:
        total, existing, opted = _figures(plan, cursor)
        rejected, _ = _check_suspects(plan)
        skipped = _skipped_sample(plan, cursor)
        report.preview = _first_messages(plan, cursor)
    _fill(report, plan, total=total, existing=existing, opted=opted, rejected=rejected)
    report.imported = total - existing - opted - rejected
    report.rejected_sample = sorted((plan.problems + skipped)[:INLINE_PROBLEMS], key=_line)
    return report


def _line(problem: dict) -> int:
    return problem["line"]


def _fill(report: ImportReport, plan: _Plan, *, total, existing, opted, rejected) -> None:
    report.rows_read = total
    report.rejected = rejected
    report.skipped_duplicate = existing
    report.skipped_opted_out = opted
    report.warnings = [] if total else ["The audience has no contacts."]


def audience_resolve(*, campaign: Campaign, user_id=None) -> ImportReport | None:
    """Resolve the campaign's audience into recipients, once; call it inside the transaction
    that holds the campaign row (SELECT … FOR UPDATE) and moves it to running. Returns the
    report, or None when there is no audience or it was resolved already."""
    if not campaign.audience or campaign.audience_resolved_at is not None:
        return None
    started = time.perf_counter()
    plan = _Plan.of(campaign)
    report = ImportReport.objects.create(
        campaign=campaign,
        created_by_id=user_id,
        source="audience",
        status=ImportReport.Status.RUNNING,
    )
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            # Compiling these few big statements costs more than running them (~0.6 s a
            # million rows); SET LOCAL ends with the transaction.
            cursor.execute("SET LOCAL jit = off")
            plan.existing = _existing_phones(plan.campaign, cursor)
        existing, opted = _store_skipped(plan, cursor, report)
        rejected, inserted = _check_suspects(plan, store_report=report, insert_rows=not postgres)
        if postgres:
            inserted = _insert_sql_rows(plan, cursor, report)
        total = inserted + rejected + existing + opted
        cursor.execute(
            f"""SELECT line, reason, value FROM {REJECTIONS}
                WHERE report_id = %s AND kind = 'skipped' ORDER BY line LIMIT %s""",
            [db_uuid(report.pk), INLINE_PROBLEMS],
        )
        skipped = [
            Problem(line, PHONE_COLUMN, reason, value, kind="skipped").as_dict()
            for line, reason, value in cursor.fetchall()
        ]
        report.preview = _first_messages_of_campaign(plan, cursor)
    counters_apply(
        campaign_id=campaign.pk, deltas={Recipient.Status.PENDING: inserted}, total=inserted
    )
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(audience_resolved_at=now)
    campaign.audience_resolved_at = now
    _fill(report, plan, total=total, existing=existing, opted=opted, rejected=rejected)
    report.imported = inserted
    report.rejected_sample = sorted((plan.problems + skipped)[:INLINE_PROBLEMS], key=_line)
    report.status = ImportReport.Status.COMPLETED
    report.finished_at = now
    report.save()
    logger.info(
        "audience resolved",
        extra={
            "campaign_id": str(campaign.pk),
            "contacts": total,
            "imported": inserted,
            "rejected": rejected,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return report


def _existing_phones(campaign: Campaign, cursor) -> tuple[str, list]:
    """PostgreSQL: the campaign's numbers before the insert, in a temporary table the
    anti-join reads. Read from the recipients table itself, a plan that scans it (its
    statistics say "empty" for a new campaign) would scan it again for every contact while
    the same INSERT grows it: minutes for a million contacts."""
    cursor.execute("DROP TABLE IF EXISTS audience_existing")
    cursor.execute(
        f"CREATE TEMPORARY TABLE audience_existing ON COMMIT DROP AS "
        f"SELECT phone FROM {RECIPIENTS} WHERE campaign_id = %s",
        [db_uuid(campaign.pk)],
    )
    if cursor.rowcount == 0:
        # No file imported first (the usual case): nothing to test per contact (a plan would
        # still scan the empty table once for each of them).
        return "FALSE", []
    cursor.execute("CREATE UNIQUE INDEX ON audience_existing (phone)")
    cursor.execute("ANALYZE audience_existing")
    return "EXISTS (SELECT 1 FROM audience_existing r WHERE r.phone = c.phone)", []


def _first_messages_of_campaign(plan: _Plan, cursor) -> list[dict]:
    """The first recipients the audience added, rendered (after the insert)."""
    _sql(
        cursor,
        f"""SELECT contact_id, phone, "values" FROM {RECIPIENTS}
            WHERE campaign_id = %s AND status = 'pending' AND contact_id IS NOT NULL
            ORDER BY id LIMIT %s""",
        [db_uuid(plan.campaign.pk), PREVIEW_ROWS],
    )
    decode = Recipient._meta.get_field("values").from_db_value
    rows = [
        (line, phone, decode(values, None, connection) or {})  # type: ignore[arg-type]
        for line, phone, values in cursor.fetchall()
    ]
    return _rendered(plan.campaign.template, rows)
