"""Tenancy: a Workspace owns every domain row; a Membership gives a user access to one."""

import uuid

from django.conf import settings
from django.db import models


class Workspace(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The breaker settings this workspace's campaigns start from (campaigns/engine/breaker.py);
    # {} means the installation's defaults (settings BREAKER_*).
    breaker_defaults = models.JSONField(default=dict, blank=True)
    # The cross-campaign frequency cap, by template category (docs/audiences.md):
    # {"marketing": {"messages": 1, "per_hours": 24}}; null: no cap. Read and set by the
    # workspace's owner (GET/PATCH /api/v1/workspaces/{id}/).
    frequency_cap = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "member"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"
