"""Starting a recipient import from an upload or a JSON list: inline for small inputs, in a
Celery task for large files (the caller gets the report to poll). The upload's checks, its
report's failures, the worker's retry and beat's expiry are the imports' shared lifecycle
(importing/uploads.py)."""

import os
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from ..importing.pipeline import IMPORTABLE, ImportNotAllowed, recipients_import
from ..importing.readers import FileRejected, open_upload, read_json
from ..importing.uploads import (
    INTERRUPTED,
    UNEXPECTED,
    FileTooLarge,
    report_open,
    reports_expire,
    stored_import_run,
    stored_name_for,
    upload_checked,
)
from ..models import Campaign, ImportReport

__all__ = ["INTERRUPTED", "UNEXPECTED", "FileTooLarge", "import_upload", "import_records"]

STORED_PREFIX = "imports"


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
    name, size, kind = upload_checked(upload)
    report = ImportReport(
        campaign=campaign,
        created_by=user,
        source=kind,
        file_name=name,
        file_size=size,
        dry_run=dry_run,
    )
    if size > settings.IMPORT_ASYNC_BYTES:
        report.save()
        stored_name = stored_upload_name(report.pk, os.path.splitext(name)[1])
        stored = report_open(report, lambda: default_storage.save(stored_name, upload))
        from ..tasks import import_file

        transaction.on_commit(partial(import_file.delay, str(report.pk), stored))
        return report
    if not dry_run:
        report.save()  # a dry run stores nothing; its report is returned inline
    source = report_open(report, lambda: open_upload(upload.file, name))
    return recipients_import(
        campaign=campaign, source=source, report=report, dry_run=dry_run, problems_to=problems_to
    )


def import_records(*, campaign: Campaign, user, records, dry_run: bool = False) -> ImportReport:
    """Import a JSON list of recipient objects (the seed API's shape)."""
    _check_campaign(campaign)
    report = ImportReport(campaign=campaign, created_by=user, source="json", dry_run=dry_run)
    if not dry_run:
        report.save()
    source = report_open(report, lambda: read_json(records))
    return recipients_import(campaign=campaign, source=source, report=report, dry_run=dry_run)


def import_stored_file(*, report_id, stored_name: str) -> None:
    """The Celery side of a large upload (a lost database connection retried once)."""

    def run(report: ImportReport, f) -> None:
        source = report_open(report, lambda: open_upload(f, report.file_name))
        recipients_import(
            campaign=report.campaign, source=source, report=report, dry_run=report.dry_run
        )

    stored_import_run(
        model=ImportReport,
        report_id=report_id,
        stored_name=stored_name,
        run=run,
        refused=(FileRejected, ImportNotAllowed),
        related=("campaign",),
    )


def import_reports_expire() -> int:
    """Beat: reports a dead worker left queued or running end failed (importing/uploads.py)."""
    return reports_expire(ImportReport, STORED_PREFIX)


def stored_upload_name(report_id, ext: str) -> str:
    return stored_name_for(STORED_PREFIX, report_id, ext)
