"""Starting a recipient import from an upload or a JSON list: inline for small inputs, in a
Celery task for large files (the caller gets the report to poll)."""

import logging
import os
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from config.errors import TOO_LARGE

from ..importing.pipeline import DATABASE_LOST, IMPORTABLE, ImportNotAllowed, recipients_import
from ..importing.readers import FileRejected, open_upload, read_json
from ..models import Campaign, ImportReport

logger = logging.getLogger(__name__)

UNEXPECTED = "The import failed unexpectedly; nothing was imported. Please try again."


class FileTooLarge(FileRejected):
    """Over IMPORT_MAX_FILE_BYTES (an API 413, `{"detail", "code"}`)."""

    code = "file_too_large"
    kind = TOO_LARGE
    field = None


def _check_campaign(campaign: Campaign) -> None:
    if campaign.status not in IMPORTABLE:
        raise ImportNotAllowed(
            f"cannot add recipients to a {campaign.status} campaign (only draft or scheduled)"
        )


def import_upload(
    *, campaign: Campaign, user, upload, dry_run: bool = False, problems_to=None
) -> ImportReport:
    """Import an uploaded CSV/XLSX. Returns the report: finished for small files, queued
    (status `queued`) for large ones. `problems_to` receives every problem of a file checked
    inline as CSV (not of a queued one)."""
    _check_campaign(campaign)
    size = upload.size or 0
    limit = settings.IMPORT_MAX_FILE_BYTES
    if size > limit:
        raise FileTooLarge(
            f"The file is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB."
        )
    if size == 0:
        raise FileRejected("The file is empty.")
    name = os.path.basename(upload.name or "upload")[:255]
    report = ImportReport(
        campaign=campaign,
        created_by=user,
        source=_kind(name),
        file_name=name,
        file_size=size,
        dry_run=dry_run,
    )
    if size > settings.IMPORT_ASYNC_BYTES:
        report.save()
        stored_name = stored_upload_name(report.pk, os.path.splitext(name)[1])
        stored = _open(report, lambda: default_storage.save(stored_name, upload))
        from ..tasks import import_file

        transaction.on_commit(partial(import_file.delay, str(report.pk), stored))
        return report
    if not dry_run:
        report.save()  # a dry run stores nothing; its report is returned inline
    source = _open(report, lambda: open_upload(upload.file, name))
    return recipients_import(
        campaign=campaign, source=source, report=report, dry_run=dry_run, problems_to=problems_to
    )


def import_records(*, campaign: Campaign, user, records, dry_run: bool = False) -> ImportReport:
    """Import a JSON list of recipient objects (the seed API's shape)."""
    _check_campaign(campaign)
    report = ImportReport(campaign=campaign, created_by=user, source="json", dry_run=dry_run)
    if not dry_run:
        report.save()
    source = _open(report, lambda: read_json(records))
    return recipients_import(campaign=campaign, source=source, report=report, dry_run=dry_run)


def _open(report: ImportReport, reader):
    """`reader()`: the file's RowSource, or the upload stored for the worker. When it refuses
    the whole file (or fails: storage's OSError too), a saved report ends failed with the
    reason instead of staying queued, and the error is raised (a failure is a server error
    for the caller, never the user's fault)."""
    try:
        return reader()
    except FileRejected as exc:
        _failed(report, str(exc))
        raise
    except Exception:
        logger.exception("import failed", extra={"report_id": str(report.pk)})
        _failed(report, UNEXPECTED)
        raise


def _failed(report: ImportReport, error: str) -> None:
    if report.pk is None or report._state.adding:
        return  # a dry run's report, never stored
    report.status = ImportReport.Status.FAILED
    report.error = error
    report.finished_at = timezone.now()
    report.save(update_fields=["status", "error", "finished_at"])


def import_stored_file(*, report_id, stored_name: str) -> None:
    """The Celery side of a large upload: run the import, then delete the stored file.

    A database connection lost mid-import (a restart, a failover) rolls the import back; it is
    run again once, from the start, on a new connection. Lost twice, the report ends failed
    saying so."""
    try:
        for attempt in (1, 2):
            report = ImportReport.objects.select_related("campaign").filter(pk=report_id).first()
            if report is None or report.status != ImportReport.Status.QUEUED:
                return
            try:
                _import_stored(report, stored_name)
                return
            except DATABASE_LOST:
                if attempt == 2:
                    raise
                logger.warning("import retried: database lost", extra={"report_id": report_id})
                ImportReport.objects.filter(pk=report_id).update(
                    status=ImportReport.Status.QUEUED, error="", finished_at=None
                )
    finally:
        default_storage.delete(stored_name)


def _import_stored(report: ImportReport, stored_name: str) -> None:
    with default_storage.open(stored_name, "rb") as f:
        try:
            source = _open(report, lambda: open_upload(f, report.file_name))
            recipients_import(
                campaign=report.campaign, source=source, report=report, dry_run=report.dry_run
            )
        except (FileRejected, ImportNotAllowed):
            pass  # recorded on the report for the user


INTERRUPTED = (
    "The import was interrupted (the worker processing it stopped); nothing was imported. "
    "Please upload the file again."
)


def import_reports_expire() -> int:
    """Beat: reports left queued or running by a worker that died (IMPORT_STALE_HOURS after
    the upload) end failed, saying so, and their stored uploads are deleted. Returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.IMPORT_STALE_HOURS)
    stale = list(
        ImportReport.objects.filter(
            status__in=[ImportReport.Status.QUEUED, ImportReport.Status.RUNNING],
            created_at__lt=cutoff,
        )
    )
    for report in stale:
        updated = ImportReport.objects.filter(pk=report.pk, status=report.status).update(
            status=ImportReport.Status.FAILED, error=INTERRUPTED, finished_at=timezone.now()
        )
        if updated and report.source in ("csv", "xlsx"):
            ext = os.path.splitext(report.file_name)[1]
            default_storage.delete(stored_upload_name(report.pk, ext))
    if stale:
        logger.warning("interrupted imports failed", extra={"count": len(stale)})
    return len(stale)


def stored_upload_name(report_id, ext: str) -> str:
    return f"imports/{report_id}{ext}"


def _kind(name: str) -> str:
    lower = name.lower()
    return "xlsx" if lower.endswith((".xlsx", ".xlsm")) else "csv"
