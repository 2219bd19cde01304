"""Message templates synced from a WhatsApp Business Account."""

import uuid

from django.db import models

from accounts.models import Workspace
from whatsapp.models import WhatsAppAccount


class MessageTemplate(models.Model):
    class Status(models.TextChoices):
        APPROVED = "APPROVED"
        PENDING = "PENDING"
        REJECTED = "REJECTED"
        PAUSED = "PAUSED"
        DISABLED = "DISABLED"
        IN_APPEAL = "IN_APPEAL"
        PENDING_DELETION = "PENDING_DELETION"
        DELETED = "DELETED"
        FLAGGED = "FLAGGED"
        REINSTATED = "REINSTATED"
        LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
        ARCHIVED = "ARCHIVED"
        UNARCHIVED = "UNARCHIVED"
        LOCKED = "LOCKED"

    class Category(models.TextChoices):
        MARKETING = "MARKETING"
        UTILITY = "UTILITY"
        AUTHENTICATION = "AUTHENTICATION"

    class ParameterFormat(models.TextChoices):
        POSITIONAL = "POSITIONAL"
        NAMED = "NAMED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="templates")
    account = models.ForeignKey(WhatsAppAccount, on_delete=models.CASCADE, related_name="templates")
    meta_id = models.CharField("Meta template id", max_length=64)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=15)
    status = models.CharField(max_length=20, choices=Status.choices)
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    sub_category = models.CharField(max_length=40, blank=True)
    parameter_format = models.CharField(
        max_length=10, choices=ParameterFormat.choices, default=ParameterFormat.POSITIONAL
    )
    quality_score = models.CharField(max_length=10, blank=True)
    # Meta's webhooks about the template (templates_app.events): when its quality last changed;
    # a recategorisation (from what, when) and an impending one (to what, from when); when its
    # text was edited on WhatsApp.
    quality_changed_at = models.DateTimeField(null=True, blank=True)
    category_changed_from = models.CharField(max_length=20, blank=True)
    category_changed_at = models.DateTimeField(null=True, blank=True)
    pending_category = models.CharField(max_length=20, blank=True)
    pending_category_from = models.DateTimeField(null=True, blank=True)
    components_changed_at = models.DateTimeField(null=True, blank=True)
    components = models.JSONField(default=list)
    # Meta's time-to-live of the template's messages (`message_send_ttl_seconds`): how long
    # Meta keeps trying to deliver one. Set on the template in WhatsApp Manager, never on a
    # send (docs/whatsapp.md §11.2); null when Meta gives none (its defaults apply).
    message_send_ttl_seconds = models.IntegerField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    # Templates that disappear from Meta's listing are marked, never deleted: campaigns
    # keep pointing at them.
    removed_upstream_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            # Sync upserts by Meta's id within an account.
            models.UniqueConstraint(fields=["account", "meta_id"], name="template_meta_id_unique"),
        ]
        indexes = [
            # Template picker: WHERE workspace_id = ? AND status = 'APPROVED' ORDER BY name.
            models.Index(fields=["workspace", "status", "name"], name="template_ws_status_idx"),
            # Status webhooks: WHERE account_id = ? AND name = ? AND language = ?.
            models.Index(fields=["account", "name", "language"], name="template_name_lang_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def is_sendable(self) -> bool:
        return self.status == self.Status.APPROVED and self.removed_upstream_at is None


class TemplateQualityChange(models.Model):
    """One change of a template's quality score, as Meta reported it (its history)."""

    template = models.ForeignKey(
        MessageTemplate, on_delete=models.CASCADE, related_name="quality_changes"
    )
    previous = models.CharField(max_length=10, blank=True)
    new = models.CharField(max_length=10)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["template", "at", "new"], name="template_quality_once"),
        ]

    def __str__(self) -> str:
        return f"{self.previous or '—'} → {self.new} at {self.at:%Y-%m-%d %H:%M}"
