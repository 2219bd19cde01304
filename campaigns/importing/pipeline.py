"""`recipients_import`: one file (or JSON list) into a campaign, all valid rows or none.

Streams the rows, validates each against the template, stages the valid ones in the
database, removes duplicates and opted-out numbers with set-based SQL, inserts the rest and
adjusts the campaign counters, all in one transaction. The report explains every row that
was not imported. A dry run does the same work and rolls it back.
"""

import logging

from django.db import transaction
from django.utils import timezone

from config.redis import get_redis
from templates_app.variables import render_preview, variables_for

from ..models import Campaign, ImportRejection, ImportReport, OptOut, Recipient
from ..services.counters import counters_apply
from .readers import FileRejected, RowSource
from .rows import Problem, RowChecker
from .staging import Stage, db_uuid

logger = logging.getLogger(__name__)

INLINE_PROBLEMS = 100
PREVIEW_ROWS = 5
REJECTION_BATCH = 5_000
PROGRESS_EVERY = 20_000
IMPORTABLE = {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}


class ImportNotAllowed(Exception):
    """The campaign does not accept recipients in its current state (an API 409)."""


class _DryRunDone(Exception):
    """Raised to roll a dry run's writes back."""


def progress_key(report_id) -> str:
    return f"import-progress:{report_id}"


class _Collector:
    """Keeps the first problems inline and writes all of them (unless dry run) in batches."""

    def __init__(self, report: ImportReport, persist: bool):
        self.report = report
        self.persist = persist
        self.sample: list[dict] = []
        self._batch: list[ImportRejection] = []

    def add(self, problem: Problem) -> None:
        if len(self.sample) < INLINE_PROBLEMS:
            self.sample.append(problem.as_dict())
        if self.persist:
            self._batch.append(
                ImportRejection(
                    report=self.report,
                    line=problem.line,
                    kind=problem.kind,
                    column=problem.column,
                    reason=problem.reason,
                    value=problem.value,
                )
            )
            if len(self._batch) >= REJECTION_BATCH:
                self.flush()

    def flush(self) -> None:
        if self._batch:
            ImportRejection.objects.bulk_create(self._batch)
            self._batch = []


def recipients_import(
    *, campaign: Campaign, source: RowSource, report: ImportReport, dry_run: bool = False
) -> ImportReport:
    """Import `source` into `campaign`, filling and saving `report` (unless it is a dry run
    that was not saved beforehand). Raises FileRejected / ImportNotAllowed with nothing
    imported."""
    persist = report.pk is not None and not report._state.adding
    report.dry_run = dry_run
    report.status = ImportReport.Status.RUNNING
    if persist:
        report.save(update_fields=["dry_run", "status"])
    try:
        with transaction.atomic():
            _run(campaign, source, report, dry_run=dry_run, persist=persist)
            if dry_run:
                raise _DryRunDone
    except _DryRunDone:
        pass
    except (FileRejected, ImportNotAllowed) as exc:
        _finish(report, persist, status=ImportReport.Status.FAILED, error=str(exc))
        raise
    except Exception:
        logger.exception("import failed", extra={"report_id": str(report.pk)})
        _finish(
            report,
            persist,
            status=ImportReport.Status.FAILED,
            error="The import failed unexpectedly; nothing was imported. Please try again.",
        )
        raise
    _finish(report, persist, status=ImportReport.Status.COMPLETED)
    return report


def _finish(report: ImportReport, persist: bool, *, status: str, error: str = "") -> None:
    report.status = status
    report.error = error
    report.finished_at = timezone.now()
    if persist:
        report.save()
        get_redis().delete(progress_key(report.pk))


def _run(campaign: Campaign, source: RowSource, report: ImportReport, *, dry_run, persist):
    campaign = Campaign.objects.select_for_update().select_related("template").get(pk=campaign.pk)
    if campaign.status not in IMPORTABLE:
        raise ImportNotAllowed(
            f"cannot add recipients to a {campaign.status} campaign (only draft or scheduled)"
        )
    template = campaign.template
    variables = variables_for(template)
    checker = RowChecker.for_columns(variables, source.columns)
    report.warnings = checker.warnings
    collector = _Collector(report, persist=persist and not dry_run)
    rows_read = rejected = 0
    redis = get_redis() if persist else None

    with Stage() as stage:
        for line, cells in source:
            rows_read += 1
            phone, values, problems = checker.check(line, cells)
            if problems:
                rejected += 1
                for problem in problems:
                    collector.add(problem)
            else:
                stage.add(line, phone, values)
            if redis is not None and rows_read % PROGRESS_EVERY == 0:
                redis.set(progress_key(report.pk), rows_read, ex=3600)
        if rows_read == 0:
            raise FileRejected("The file has a header but no rows.")
        stage.close_input()

        duplicates = 0
        for line, phone, first in stage.take_file_duplicates():
            duplicates += 1
            collector.add(
                Problem(line, "phone_number", f"duplicate of line {first}", phone, kind="skipped")
            )
        for line, phone in stage.take_matching(
            Recipient._meta.db_table, "campaign_id", db_uuid(campaign.pk)
        ):
            duplicates += 1
            collector.add(
                Problem(line, "phone_number", "already in this campaign", phone, kind="skipped")
            )
        opted_out = 0
        for line, phone in stage.take_matching(
            OptOut._meta.db_table, "workspace_id", db_uuid(campaign.workspace_id)
        ):
            opted_out += 1
            collector.add(Problem(line, "phone_number", "opted out", phone, kind="skipped"))
        preview = [
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
            for line, phone, values in stage.first_rows(PREVIEW_ROWS)
        ]
        imported = stage.insert_recipients(campaign.pk)
    collector.flush()
    counters_apply(
        campaign_id=campaign.pk, deltas={Recipient.Status.PENDING: imported}, total=imported
    )
    report.rows_read = rows_read
    # For a dry run: how many rows would be imported (nothing was stored).
    report.imported = imported
    report.rejected = rejected
    report.skipped_duplicate = duplicates
    report.skipped_opted_out = opted_out
    report.rejected_sample = sorted(collector.sample, key=lambda p: p["line"])
    report.preview = preview
    logger.info(
        "recipients imported",
        extra={
            "campaign_id": str(campaign.pk),
            "rows": rows_read,
            "imported": imported,
            "rejected": rejected,
            "dry_run": dry_run,
        },
    )
