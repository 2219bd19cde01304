"""Starting a contacts import from an upload or a JSON list (docs/audiences.md §2): inline for
small inputs, in a Celery task for large files (the caller gets the report to poll), as the
recipient import does (campaigns/services/imports.py, whose size limits apply).

`contacts_import_upload` is what the API (`POST /api/v1/contacts/import/`), the dashboard and a
list's members endpoint (with `contact_list`) call."""

from __future__ import annotations

import logging
import os
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace

from ..importing.readers import FileRejected, open_upload, read_json
from ..models import ContactImport, ContactList
from ..services.imports import FileTooLarge
from .contact_import import contacts_import
from .contacts import ContactInvalid, _require_member

logger = logging.getLogger(__name__)

UNEXPECTED = "The import failed unexpectedly; nothing was imported. Please try again."
MODES = tuple(ContactImport.Mode.values)


def _report(*, user, workspace, mode, dry_run, contact_list, **fields) -> ContactImport:
    _require_member(user=user, workspace_id=workspace.pk)
    if mode not in MODES:
        raise ContactInvalid(f"mode is upsert or add_only, not {str(mode)[:20]!r}.", field="mode")
    if contact_list is not None and contact_list.workspace_id != workspace.pk:
        raise ContactInvalid("The list belongs to another workspace.", field="list")
    return ContactImport(
        workspace=workspace,
        created_by=user if user.is_authenticated else None,
        mode=mode,
        dry_run=dry_run,
        contact_list=contact_list,
        **fields,
    )


def contacts_import_upload(
    *,
    user,
    workspace: Workspace,
    upload,
    mode: str = ContactImport.Mode.UPSERT,
    dry_run: bool = False,
    contact_list: ContactList | None = None,
    problems_to=None,
) -> ContactImport:
    """Import an uploaded CSV/XLSX. Returns the report: finished for small files, queued
    (status `queued`, the task enqueued on commit) for files over IMPORT_ASYNC_BYTES."""
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
    report = _report(
        user=user,
        workspace=workspace,
        mode=mode,
        dry_run=dry_run,
        contact_list=contact_list,
        source=kind,
        file_name=name,
        file_size=size,
    )
    if size > settings.IMPORT_ASYNC_BYTES:
        report.save()
        stored_name = f"contact-imports/{report.pk}{os.path.splitext(name)[1]}"
        stored = _open(report, lambda: default_storage.save(stored_name, upload))
        from ..tasks import contacts_import_file

        transaction.on_commit(partial(contacts_import_file.delay, str(report.pk), stored))
        return report
    if not dry_run:
        report.save()  # a dry run stores nothing; its report is returned inline
    source = _open(report, lambda: open_upload(upload.file, name))
    return contacts_import(report=report, source=source, problems_to=problems_to)


def contacts_import_records(
    *,
    user,
    workspace: Workspace,
    records,
    mode: str = ContactImport.Mode.UPSERT,
    dry_run: bool = False,
    contact_list: ContactList | None = None,
) -> ContactImport:
    """Import a JSON list of contact objects (the same keys as a file's columns)."""
    report = _report(
        user=user,
        workspace=workspace,
        mode=mode,
        dry_run=dry_run,
        contact_list=contact_list,
        source="json",
    )
    if not dry_run:
        report.save()
    source = _open(report, lambda: read_json(records))
    return contacts_import(report=report, source=source)


def _open(report: ContactImport, reader):
    """`reader()`; when it refuses the file (or fails), a saved report ends failed."""
    try:
        return reader()
    except FileRejected as exc:
        _failed(report, str(exc))
        raise
    except Exception:
        logger.exception("contacts import failed", extra={"report_id": str(report.pk)})
        _failed(report, UNEXPECTED)
        raise


def _failed(report: ContactImport, error: str) -> None:
    if report.pk is None or report._state.adding:
        return
    report.status, report.error, report.finished_at = "failed", error, timezone.now()
    report.save(update_fields=["status", "error", "finished_at"])


def contacts_import_stored_file(*, report_id, stored_name: str) -> None:
    """The Celery side of a large upload: run the import, then delete the stored file."""
    report = (
        ContactImport.objects.select_related("workspace", "contact_list")
        .filter(pk=report_id)
        .first()
    )
    try:
        if report is None or report.status != ContactImport.Status.QUEUED:
            return
        with default_storage.open(stored_name, "rb") as f:
            try:
                source = _open(report, lambda: open_upload(f, report.file_name))
                contacts_import(report=report, source=source)
            except FileRejected:
                pass  # recorded on the report for the user
    finally:
        default_storage.delete(stored_name)
