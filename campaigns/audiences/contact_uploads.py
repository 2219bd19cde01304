"""Starting a contacts import from an upload or a JSON list (docs/audiences.md §2): inline for
small inputs, in a Celery task for large files (the caller gets the report to poll), with the
recipient import's lifecycle (importing/uploads.py: its size limits, failed reports, the
worker's retry of a lost database, beat's expiry of stale reports).

`contacts_import_upload` is what the API (`POST /api/v1/contacts/import/`), the dashboard and a
list's members endpoint (with `contact_list`) call."""

from __future__ import annotations

import os
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from accounts.models import Workspace

from ..importing.readers import open_upload, read_json
from ..importing.uploads import (
    report_open,
    reports_expire,
    stored_import_run,
    stored_name_for,
    upload_checked,
)
from ..models import ContactImport, ContactList
from .contact_import import contacts_import
from .contacts import ContactInvalid, _require_member

MODES = tuple(ContactImport.Mode.values)
STORED_PREFIX = "contact-imports"


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
    name, size, kind = upload_checked(upload)
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
        stored_name = stored_name_for(STORED_PREFIX, report.pk, os.path.splitext(name)[1])
        stored = report_open(report, lambda: default_storage.save(stored_name, upload))
        from ..tasks import contacts_import_file

        transaction.on_commit(partial(contacts_import_file.delay, str(report.pk), stored))
        return report
    if not dry_run:
        report.save()  # a dry run stores nothing; its report is returned inline
    source = report_open(report, lambda: open_upload(upload.file, name))
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
    source = report_open(report, lambda: read_json(records))
    return contacts_import(report=report, source=source)


def contacts_import_stored_file(*, report_id, stored_name: str) -> None:
    """The Celery side of a large upload (a lost database connection retried once)."""

    def run(report: ContactImport, f) -> None:
        source = report_open(report, lambda: open_upload(f, report.file_name))
        contacts_import(report=report, source=source)

    stored_import_run(
        model=ContactImport,
        report_id=report_id,
        stored_name=stored_name,
        run=run,
        related=("workspace", "contact_list"),
    )


def contact_imports_expire() -> int:
    """Beat: contact imports a dead worker left queued or running end failed."""
    return reports_expire(ContactImport, STORED_PREFIX)
