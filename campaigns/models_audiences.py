"""The audience layer (docs/audiences.md): a workspace's contacts, static lists of them and
saved segments (rules evaluated when used), which a campaign can send to instead of (or
beside) an uploaded file.

A contact is unique per workspace by E.164 phone. Its subscription state is the workspace's
opt-out list (`OptOut`, by phone): opted out when its phone is on it, with that row's source
and time; a STOP reply or an operator changes it there. Imported by `campaigns.models`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace


class Contact(models.Model):
    id = models.BigAutoField(primary_key=True)
    # No index of its own: contact_phone_unique (workspace, phone) leads with it. No
    # foreign-key constraint in the database either, as Recipient.campaign: checked per row (at
    # commit, being deferred), it cost a million-contact import ~4 s. Integrity holds without
    # it: the import holds the workspace row (FOR KEY SHARE, once: contact_stage.py), the
    # other writers create one contact in a workspace they just read, and a workspace's
    # contacts are deleted with it (Django's CASCADE, which never relied on the database).
    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.CASCADE,
        related_name="contacts",
        db_index=False,
        db_constraint=False,
    )
    phone = models.CharField(max_length=20, help_text="E.164, e.g. +14155550100")
    name = models.CharField(max_length=200, blank=True, default="", db_default="")
    # ["vip", "pune"]: GIN-indexed on PostgreSQL (migration 0014) for `has` conditions.
    tags = models.JSONField(
        default=list, blank=True, db_default=models.Value([], models.JSONField())
    )
    # Free key → value (text, number or boolean): GIN-indexed on PostgreSQL.
    attributes = models.JSONField(
        default=dict, blank=True, db_default=models.Value({}, models.JSONField())
    )
    locale = models.CharField(max_length=20, blank=True, default="", db_default="")
    time_zone = models.CharField(max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Kept by the engine (per batch) and the reply tracking, for filters and segments.
    last_messaged_at = models.DateTimeField(null=True, blank=True)
    last_replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]  # newest first, as created
        constraints = [
            models.UniqueConstraint(fields=["workspace", "phone"], name="contact_phone_unique"),
        ]
        # Every index costs each imported contact an insert (the import's bound): only what a
        # query uses. Name search is `icontains` (no btree serves it).
        indexes = [
            # The contacts list and segment previews: WHERE workspace_id = ? ORDER BY id DESC.
            models.Index(fields=["workspace", "-id"], name="contact_ws_id_idx"),
            # "Last messaged after/before": only contacts ever messaged (an import's are not).
            models.Index(
                fields=["workspace", "last_messaged_at"],
                condition=models.Q(last_messaged_at__isnull=False),
                name="contact_ws_messaged_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.phone} ({self.phone})" if self.name else self.phone


class ContactList(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contact_lists")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="contactlist_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactListMember(models.Model):
    id = models.BigAutoField(primary_key=True)
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_list", "contact"], name="contactlist_member_unique"
            ),
        ]
        indexes = [models.Index(fields=["contact"], name="contactlist_member_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.contact_list_id}"


class Segment(models.Model):
    """Saved rules (docs/audiences.md), evaluated each time the segment is used."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=200)
    rules = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="segment_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ContactImport(models.Model):
    """One contacts import (CSV, XLSX or JSON) and its report."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        UPSERT = "upsert", "Add new, update existing"
        ADD_ONLY = "add_only", "Add new only"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="contact_imports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # The list the imported contacts join, when the import adds members to one.
    contact_list = models.ForeignKey(
        ContactList, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    source = models.CharField(max_length=10, help_text="csv, xlsx or json")
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(default=0)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.UPSERT)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    skipped_duplicate = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    # The first rejected rows inline ({line, column, reason, value}); all in the rejections.
    rejected_sample = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name or self.source} → {self.workspace_id}"


class ContactImportRejection(models.Model):
    report = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    column = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    value = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["report", "line"], name="contactrej_report_line_idx")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
