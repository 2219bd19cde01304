"""WhatsApp Business Account connections, with their secrets encrypted at rest."""

import uuid

from django.db import models
from django.utils import timezone

from accounts.models import Workspace

from .crypto import EncryptedTextField


class WhatsAppAccount(models.Model):
    class Throughput(models.IntegerChoices):
        COEXISTENCE = 20, "20 msg/s (coexistence number)"
        STANDARD = 80, "80 msg/s (default)"
        HIGH = 1000, "1,000 msg/s (upgraded)"

    class Tier(models.TextChoices):
        TIER_50 = "50", "50 unique users / 24 h"
        TIER_250 = "250", "250 unique users / 24 h"
        TIER_1K = "1000", "1,000 unique users / 24 h"
        TIER_2K = "2000", "2,000 unique users / 24 h"
        TIER_10K = "10000", "10,000 unique users / 24 h"
        TIER_100K = "100000", "100,000 unique users / 24 h"
        UNLIMITED = "unlimited", "Unlimited"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    class Restriction(models.TextChoices):
        """What Meta says stops this account's template sends (account_update webhooks)."""

        NONE = "", "None"
        BUSINESS_INITIATED = "biz_initiated", "Business-initiated messaging restricted"
        DISABLED = "disabled", "Disabled by Meta"
        DELETED = "deleted", "Deleted"
        OFFBOARDED = "offboarded", "Offboarded (access removed)"

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
    # Meta's word on the account (docs/whatsapp.md §11.4, whatsapp.health): while a
    # restriction holds (until `restricted_until`, when it has an end), nothing is sent.
    restriction = models.CharField(
        max_length=20, choices=Restriction.choices, default=Restriction.NONE, blank=True
    )
    restriction_reason = models.TextField(blank=True)
    restricted_until = models.DateTimeField(null=True, blank=True)
    # When Meta's last restriction event happened: an older event arriving late changes nothing.
    restriction_changed_at = models.DateTimeField(null=True, blank=True)
    # The number's quality as Meta last reported it: its rating (GREEN, YELLOW, RED; read from
    # the Graph API) and FLAGGED (a webhook: low quality, its limit may drop).
    quality_rating = models.CharField(max_length=10, blank=True)
    quality_flagged = models.BooleanField(default=False)
    # When Meta's last number event (throughput, quality) and limit event happened.
    number_changed_at = models.DateTimeField(null=True, blank=True)
    limit_changed_at = models.DateTimeField(null=True, blank=True)
    # Send MARKETING templates through Meta's Marketing Messages API
    # (POST /{phone-number-id}/marketing_messages, docs/whatsapp.md §11.2); off by default.
    marketing_messages_api = models.BooleanField(default=False, db_default=False)
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

    def blocked_reason(self, now=None) -> str:
        """Why Meta does not let this account send templates now, in words; "" when it does."""
        if not self.restriction:
            return ""
        if self.restricted_until is not None and self.restricted_until <= (now or timezone.now()):
            return ""  # the restriction has expired
        return self.restriction_reason or self.get_restriction_display()

    @property
    def daily_unique_limit(self) -> int | None:
        """Unique recipients per rolling 24 h allowed by the tier; None means unlimited."""
        return (
            None
            if self.messaging_limit_tier == self.Tier.UNLIMITED
            else int(self.messaging_limit_tier)
        )


class AccountEvent(models.Model):
    """Meta's account_update and number events for one account, as received (the account's
    event log): restrictions, bans, violations, offboarding, partner events, limit changes."""

    account = models.ForeignKey(WhatsAppAccount, on_delete=models.CASCADE, related_name="events")
    field = models.CharField(max_length=40)  # the webhook field, e.g. account_update
    event = models.CharField(max_length=60)  # e.g. ACCOUNT_RESTRICTION
    at = models.DateTimeField()  # when Meta says it happened
    summary = models.TextField(blank=True)  # in words, for the operator
    value = models.JSONField(default=dict)
    # The same event delivered twice is stored once.
    digest = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "digest"], name="account_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event} at {self.at:%Y-%m-%d %H:%M}"
