"""`recipients_import`: one file (or JSON list) into a campaign, all valid rows or none.

Streams the rows, validates each against the template, drops numbers repeated in the file,
already in the campaign or opted out, and streams the rest into the recipients table while the
file is still being read (see staging); then adjusts the campaign counters, all in one
transaction. The report explains every row that was not imported. A dry run does the same work
and rolls it back.
"""

import csv
import json
import logging
import time
from dataclasses import replace
from functools import partial

from django.utils import timezone

from config.errors import Conflict
from config.redis import get_redis
from templates_app.samples import sample_example
from whatsapp.preview import render_preview
from whatsapp.variables import OFFER_COLUMN, Variable, body_text_parts, variables_for

from ..exports import safe_cell
from ..models import Campaign, ImportReport, OptOut, Recipient
from ..tracking.counters import counters_apply
from .readers import FileRejected, RowSource
from .rows import Problem, RowChecker
from .staging import PhoneSet, Stage
from .uploads import import_atomic, is_saved

logger = logging.getLogger(__name__)

INLINE_PROBLEMS = 100
PREVIEW_ROWS = 5
# A background import publishes what it found so far (the preview's first screen) after this
# many rows (a few milliseconds in), then every PROGRESS_EVERY rows.
FIRST_SCREEN_ROWS = 1_000
PROGRESS_EVERY = 20_000
# What a snapshot shows (as the finished preview does).
SHOWN_PROBLEMS = 20
SHOWN_MESSAGES = 3
IMPORTABLE = {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}


class ImportNotAllowed(Conflict):
    """The campaign does not accept recipients in its current state (an API 409)."""

    code = "import_not_allowed"


def progress_key(report_id) -> str:
    return f"import-progress:{report_id}"


def import_progress(report_id) -> dict | None:
    """What a running import found so far (published by the import itself): rows_read,
    imported, rejected, skipped_duplicate, skipped_opted_out, warnings, the first rejected rows
    and the first messages; None before its first snapshot."""
    raw = get_redis().get(progress_key(report_id))
    if not raw:
        return None
    try:
        snapshot = json.loads(raw)
    except ValueError:
        return None
    return snapshot if isinstance(snapshot, dict) else None


def _rendered(template, first_rows) -> list[dict]:
    return [
        {
            "line": line,
            "phone": phone,
            "values": values,
            "message": render_preview(
                components=template.components,
                parameter_format=template.parameter_format,
                values=values,
            ),
        }
        for line, phone, values in first_rows
    ]


class _Collector:
    """Keeps the first problems for the report and hands every one (unless dry run) to the
    stage to store.

    The report shows the first INLINE_PROBLEMS problems taking rejected rows first, then
    duplicates within the file, numbers already in the campaign and opted-out numbers, each in
    file order, then sorted by line; one list per group keeps that while rows come in file
    order.
    """

    GROUPS = ("rejected", "duplicate", "existing", "opted_out")

    def __init__(self, stage: Stage | None, problems_to=None):
        self.stage = stage
        self._samples: dict[str, list[dict]] = {group: [] for group in self.GROUPS}
        # A dry run's every problem, as CSV rows (the dashboard's preview offers the file).
        self.writer = csv.writer(problems_to) if problems_to is not None else None
        if self.writer is not None:
            self.writer.writerow(PROBLEM_COLUMNS)

    def add(self, group: str, problem: Problem) -> None:
        sample = self._samples[group]
        if len(sample) < INLINE_PROBLEMS:
            sample.append(problem.as_dict())
        if self.stage is not None:
            self.stage.reject(
                problem.line, problem.kind, problem.column, problem.reason, problem.value
            )
        if self.writer is not None:
            row = (problem.line, problem.kind, problem.column, problem.reason, problem.value)
            self.writer.writerow([safe_cell(v) for v in row])

    def sample(self) -> list[dict]:
        first = [p for group in self.GROUPS for p in self._samples[group]][:INLINE_PROBLEMS]
        return sorted(first, key=lambda p: p["line"])


def recipients_import(
    *,
    campaign: Campaign,
    source: RowSource,
    report: ImportReport,
    dry_run: bool = False,
    problems_to=None,
) -> ImportReport:
    """Import `source` into `campaign`, filling and saving `report` (unless it is a dry run
    that was not saved beforehand). Raises FileRejected / ImportNotAllowed with nothing
    imported. `problems_to` (a text file) receives every problem as CSV, e.g. a dry run's,
    whose rejections are not stored."""
    persist = is_saved(report)
    report.dry_run = dry_run
    report.status = ImportReport.Status.RUNNING
    if persist:
        report.save(update_fields=["dry_run", "status"])
    return import_atomic(
        report,
        body=lambda: _run(
            campaign, source, report, dry_run=dry_run, persist=persist, problems_to=problems_to
        ),
        finish=partial(_finish, report, persist),
        refused=(FileRejected, ImportNotAllowed),
    )


def _finish(report: ImportReport, persist: bool, *, status: str, error: str = "") -> None:
    report.status = status
    report.error = error
    report.finished_at = timezone.now()
    if persist:
        report.save()
        get_redis().delete(progress_key(report.pk))


def _known_numbers(campaign: Campaign, source: RowSource) -> PhoneSet:
    """The campaign's recipients and the workspace's opt-outs, read in chunks, in a set sized
    for them and the file's rows."""
    known = PhoneSet(campaign.total_recipients + (source.estimated_rows or 0))
    for model, flag, scope in (
        (Recipient, PhoneSet.EXISTING, {"campaign_id": campaign.pk}),
        (OptOut, PhoneSet.OPTED_OUT, {"workspace_id": campaign.workspace_id}),
    ):
        numbers = model.objects.filter(**scope).values_list("phone", flat=True)
        for phone in numbers.iterator(chunk_size=10_000):
            known.flag(phone, flag)
    return known


EXAMPLE_REASON = "the sample's example row, not a recipient"
PROBLEM_COLUMNS = ["line", "kind", "column", "reason", "value"]


def _is_example(values: dict, example: dict) -> bool:
    return all(values.get(column, "") == value for column, value in example.items())


def campaign_variables(campaign: Campaign) -> list[Variable]:
    """The template's variables as this campaign's rows must give them: a limited-time
    offer's expiry is optional when the campaign sets one for everybody."""
    variables = variables_for(campaign.template)
    if campaign.offer_expires_at is None:
        return variables
    return [replace(v, required=False) if v.column == OFFER_COLUMN else v for v in variables]


def _run(
    campaign: Campaign, source: RowSource, report: ImportReport, *, dry_run, persist, problems_to
):
    started = time.perf_counter()
    campaign = Campaign.objects.select_for_update().select_related("template").get(pk=campaign.pk)
    if campaign.status not in IMPORTABLE:
        raise ImportNotAllowed(
            f"cannot add recipients to a {campaign.status} campaign (only draft or scheduled)"
        )
    template = campaign.template
    variables = campaign_variables(campaign)
    checker = RowChecker.for_columns(
        variables,
        source.columns,
        header_cells=source.header_cells,
        body=body_text_parts(
            components=template.components, parameter_format=template.parameter_format
        ),
    )
    report.warnings = checker.warnings
    example_phone, example_values = sample_example(variables)
    example_lines: list[int] = []
    known = _known_numbers(campaign, source)
    rows_read = rejected = duplicates = opted_out = 0
    first_rows: list[tuple[int, str, dict]] = []
    redis = get_redis() if persist else None
    stored = persist and not dry_run
    check, visit = checker.check_list, known.visit
    line_of, existing, opted = PhoneSet.first_line, PhoneSet.EXISTING, PhoneSet.OPTED_OUT

    with Stage(campaign_id=campaign.pk, report_id=report.pk if stored else None) as stage:
        collector = _Collector(stage if stored else None, problems_to)
        add = stage.add
        for line, cells in source.lists():
            rows_read += 1
            phone, values, problems = check(line, cells)
            if problems:
                rejected += 1
                for problem in problems:
                    collector.add("rejected", problem)
            elif phone == example_phone and _is_example(values, example_values):
                # The sample's own example row, left in the file: never a recipient.
                example_lines.append(line)
                collector.add("duplicate", _skipped(line, EXAMPLE_REASON, phone))
            elif not (seen := visit(phone, line)):
                add(line, phone, values)
                if len(first_rows) < PREVIEW_ROWS:
                    first_rows.append((line, phone, values))
            elif first := line_of(seen):
                duplicates += 1
                reason = f"duplicate of line {first}"
                collector.add("duplicate", _skipped(line, reason, phone))
            elif seen & existing:
                duplicates += 1
                collector.add("existing", _skipped(line, "already in this campaign", phone))
            elif seen & opted:
                opted_out += 1
                collector.add("opted_out", _skipped(line, "opted out", phone))
            if redis is not None and (
                rows_read % PROGRESS_EVERY == 0 or rows_read == FIRST_SCREEN_ROWS
            ):
                snapshot = {
                    "rows_read": rows_read,
                    "imported": stage.count,
                    "rejected": rejected,
                    "skipped_duplicate": duplicates,
                    "skipped_opted_out": opted_out,
                    "warnings": [*checker.warnings, *source.warnings],
                    "rejected_rows": collector.sample()[:SHOWN_PROBLEMS],
                    "preview": _rendered(template, first_rows[:SHOWN_MESSAGES]),
                }
                redis.set(progress_key(report.pk), json.dumps(snapshot), ex=3600)
        if rows_read == 0:
            raise FileRejected("The file has a header but no rows.")
        stage.close()
    report.warnings = [*checker.warnings, *source.warnings]
    if example_lines:
        shown = ", ".join(str(n) for n in example_lines[:5])
        report.warnings.append(
            f"Line {shown} is the sample's example row ({example_phone} with the example "
            "values): it was not imported. Delete it from the file once you have added your "
            "recipients."
        )
    imported = stage.count
    counters_apply(
        campaign_id=campaign.pk, deltas={Recipient.Status.PENDING: imported}, total=imported
    )
    report.rows_read = rows_read
    # For a dry run: how many rows would be imported (nothing was stored).
    report.imported = imported
    report.rejected = rejected
    report.skipped_duplicate = duplicates
    report.skipped_opted_out = opted_out
    report.rejected_sample = collector.sample()
    report.preview = _rendered(template, first_rows)
    logger.info(
        "recipients imported",
        extra={
            "campaign_id": str(campaign.pk),
            "rows": rows_read,
            "imported": imported,
            "rejected": rejected,
            "dry_run": dry_run,
            "seconds": round(time.perf_counter() - started, 3),
            # Time spent waiting on the database while the file was read and after it.
            "seconds_database": round(stage.seconds_database, 3),
        },
    )


def _skipped(line: int, reason: str, phone: str) -> Problem:
    return Problem(line, "phone_number", reason, phone, kind="skipped")
