"""WhatsApp Business Account connections, with their secrets encrypted at rest."""

import uuid

from django.db import models

from accounts.models import Workspace

from .crypto import EncryptedTextField


class WhatsAppAccount(models.Model):
    class Throughput(models.IntegerChoices):
        COEXISTENCE = 20, "20 msg/s (coexistence number)"
        STANDARD = 80, "80 msg/s (default)"
        HIGH = 1000, "1,000 msg/s (upgraded)"

    class Tier(models.TextChoices):
        TIER_250 = "250", "250 unique users / 24 h"
        TIER_2K = "2000", "2,000 unique users / 24 h"
        TIER_10K = "10000", "10,000 unique users / 24 h"
        TIER_100K = "100000", "100,000 unique users / 24 h"
        UNLIMITED = "unlimited", "Unlimited"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="whatsapp_accounts"
    )
    name = models.CharField(max_length=120)
    waba_id = models.CharField("WABA id", max_length=64)
    # Webhooks are routed to an account by phone number id, so it is unique installation-wide.
    phone_number_id = models.CharField(max_length=64, unique=True)
    display_phone_number = models.CharField(max_length=32, blank=True)
    access_token = EncryptedTextField()
    app_secret = EncryptedTextField()
    verify_token = EncryptedTextField(blank=True)
    throughput = models.PositiveIntegerField(
        choices=Throughput.choices, default=Throughput.STANDARD
    )
    messaging_limit_tier = models.CharField(
        max_length=10, choices=Tier.choices, default=Tier.TIER_2K
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACTIVE)
    state_reason = models.TextField(blank=True)
    # The last value-level webhook error (e.g. 130429) Meta reported for this number.
    last_error_code = models.IntegerField(null=True, blank=True)
    last_error_details = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    templates_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "WhatsApp account"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="waaccount_name_unique"),
            models.CheckConstraint(
                condition=models.Q(throughput__in=[20, 80, 1000]), name="waaccount_throughput_valid"
            ),
        ]
        indexes = [
            # Webhook POSTs for template updates name the WABA, not the number.
            models.Index(fields=["waba_id"], name="waaccount_waba_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_phone_number or self.phone_number_id})"

    @property
    def daily_unique_limit(self) -> int | None:
        """Unique recipients per rolling 24 h allowed by the tier; None means unlimited."""
        return (
            None
            if self.messaging_limit_tier == self.Tier.UNLIMITED
            else int(self.messaging_limit_tier)
        )
