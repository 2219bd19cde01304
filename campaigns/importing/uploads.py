"""An import's life around its rows, shared by the recipient import (services/imports.py,
pipeline.py) and the contacts import (audiences/contact_uploads.py, contact_import.py):

- `upload_checked`: the upload's size limits (IMPORT_MAX_FILE_BYTES, empty), name and kind;
- `report_open`: open the file (or store it for a worker); a refused or failed file ends a
  saved report failed with the reason instead of leaving it queued;
- `import_atomic`: the rows imported in one transaction, a dry run's rolled back, and the
  report finished: completed, or failed with what the user can act on;
- `stored_import_run`: the worker's side of a large upload, a lost database connection
  retried once from the start, the stored file deleted afterwards;
- `reports_expire`: beat failing reports that a dead worker left queued or running.

Both reports (ImportReport, ContactImport) have the same status values and `error`,
`finished_at`, `created_at`, `source` and `file_name` fields.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from config.errors import TOO_LARGE

from .readers import FileRejected

logger = logging.getLogger(__name__)

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
UNEXPECTED = "The import failed unexpectedly; nothing was imported. Please try again."
LOST = "The database connection was lost during the import; nothing was imported. Please try again."
INTERRUPTED = (
    "The import was interrupted (the worker processing it stopped); nothing was imported. "
    "Please upload the file again."
)

# A lost database connection: Django's wrappers, or psycopg's own from the COPY, which runs
# on the raw connection (AdminShutdown, for one, is a psycopg OperationalError).
DATABASE_LOST = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class FileTooLarge(FileRejected):
    """Over IMPORT_MAX_FILE_BYTES (an API 413, `{"detail", "code"}`)."""

    code = "file_too_large"
    kind = TOO_LARGE
    field = None


class _DryRunDone(Exception):
    """Raised to roll a dry run's writes back."""


def upload_checked(upload) -> tuple[str, int, str]:
    """The upload's (file name, size, kind: csv or xlsx); FileTooLarge or FileRejected
    (empty) before anything is read."""
    size = upload.size or 0
    limit = settings.IMPORT_MAX_FILE_BYTES
    if size > limit:
        raise FileTooLarge(
            f"The file is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB."
        )
    if size == 0:
        raise FileRejected("The file is empty.")
    name = os.path.basename(upload.name or "upload")[:255]
    kind = "xlsx" if name.lower().endswith((".xlsx", ".xlsm")) else "csv"
    return name, size, kind


def is_saved(report) -> bool:
    """False for a dry run's report, returned inline and never stored."""
    return report.pk is not None and not report._state.adding


def report_failed(report, error: str) -> None:
    if not is_saved(report):
        return
    report.status, report.error, report.finished_at = FAILED, error, timezone.now()
    report.save(update_fields=["status", "error", "finished_at"])


def report_open(report, reader):
    """`reader()`: the file's RowSource, or the upload stored for the worker. When it refuses
    the whole file (or fails: storage's OSError too), a saved report ends failed with the
    reason instead of staying queued, and the error is raised (a failure is a server error
    for the caller, never the user's fault)."""
    try:
        return reader()
    except FileRejected as exc:
        report_failed(report, str(exc))
        raise
    except Exception:
        logger.exception("import failed", extra={"report_id": str(report.pk)})
        report_failed(report, UNEXPECTED)
        raise


def import_atomic(
    report,
    *,
    body: Callable[[], None],
    finish: Callable[..., None],
    refused: tuple[type[Exception], ...] = (FileRejected,),
):
    """Run `body()` (the rows into the database) in one transaction, rolled back for a dry
    run (`report.dry_run`), then `finish(status=, error=)` the report: completed; failed with
    the message of a `refused` error (the file's fault, re-raised); failed as unexpected, or
    with the connection lost (its dead connection dropped so the report can be saved on a new
    one, and the caller may try again), re-raised."""
    try:
        with transaction.atomic():
            body()
            if report.dry_run:
                raise _DryRunDone
    except _DryRunDone:
        pass
    except refused as exc:
        finish(status=FAILED, error=str(exc))
        raise
    except Exception as exc:
        logger.exception("import failed", extra={"report_id": str(report.pk)})
        error = UNEXPECTED
        if isinstance(exc, DATABASE_LOST):
            connection.close()
            error = LOST
        finish(status=FAILED, error=error)
        raise
    finish(status=COMPLETED)
    return report


def stored_name_for(prefix: str, report_id, ext: str) -> str:
    """Where a large upload waits for its worker, e.g. `imports/<id>.csv` (`ext`: `.csv`)."""
    return f"{prefix}/{report_id}{ext}"


def stored_import_run(
    *, model, report_id, stored_name: str, run: Callable, refused=(FileRejected,), related=()
) -> None:
    """The Celery side of a large upload: `run(report, file)` on the queued report, then the
    stored file deleted. A database connection lost mid-import rolls the import back; it is
    run again once, from the start, on a new connection. Lost twice, the report ends failed
    saying so. A `refused` error is recorded on the report for the user."""
    try:
        for attempt in (1, 2):
            report = model.objects.select_related(*related).filter(pk=report_id).first()
            if report is None or report.status != QUEUED:
                return
            try:
                # A refused file is recorded on the report for the user.
                with default_storage.open(stored_name, "rb") as f, contextlib.suppress(*refused):
                    run(report, f)
                return
            except DATABASE_LOST:
                if attempt == 2:
                    raise
                logger.warning("import retried: database lost", extra={"report_id": report_id})
                model.objects.filter(pk=report_id).update(status=QUEUED, error="", finished_at=None)
    finally:
        default_storage.delete(stored_name)


def reports_expire(model, prefix: str) -> int:
    """Beat: `model` reports left queued or running by a worker that died (IMPORT_STALE_HOURS
    after the upload) end failed, saying so, and their stored uploads (under `prefix`) are
    deleted. Returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.IMPORT_STALE_HOURS)
    stale = list(model.objects.filter(status__in=[QUEUED, RUNNING], created_at__lt=cutoff))
    for report in stale:
        updated = model.objects.filter(pk=report.pk, status=report.status).update(
            status=FAILED, error=INTERRUPTED, finished_at=timezone.now()
        )
        if updated and report.source in ("csv", "xlsx"):
            ext = os.path.splitext(report.file_name)[1]
            default_storage.delete(stored_name_for(prefix, report.pk, ext))
    if stale:
        logger.warning(
            "interrupted imports failed", extra={"count": len(stale), "kind": model.__name__}
        )
    return len(stale)
