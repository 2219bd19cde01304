"""Every accepted webhook POST, stored raw before it is processed (the inbox).

The statuses that arrive before their send is recorded are recipient tracking and live with
the recipient: `campaigns.models.PendingStatus`."""

from django.db import models
from django.db.models import Q

from whatsapp.models import WhatsAppAccount


class WebhookEvent(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        REJECTED = "rejected", "Rejected (malformed)"
        FAILED = "failed", "Failed (will retry)"

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(
        WhatsAppAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The exact bytes Meta signed, kept so that an event can be inspected or reprocessed.
    body = models.BinaryField()
    body_sha256 = models.CharField(max_length=64, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A failed event is not retried before this time (backoff); null means "now".
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Summary counts filled in by processing, for the admin.
    statuses_count = models.PositiveIntegerField(default=0)
    messages_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Drain: WHERE status IN ('pending', 'failed') ORDER BY id LIMIT n FOR UPDATE SKIP
            # LOCKED; partial, so it holds only the backlog.
            models.Index(
                fields=["id"],
                condition=Q(status__in=["pending", "failed"]),
                name="webhookevent_backlog_idx",
            ),
            # Retention: WHERE status = 'processed' AND processed_at < now() - age.
            models.Index(
                fields=["processed_at"],
                condition=Q(status="processed"),
                name="webhookevent_processed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"WebhookEvent {self.id} ({self.status})"


class WebhookFieldCount(models.Model):
    """How many changes of each webhook field arrived that Broadcast does not act on (calls,
    message echoes, flows, account alerts, history…): acknowledged, counted, ignored."""

    field = models.CharField(max_length=80, unique=True)
    count = models.BigIntegerField(default=0)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["field"]

    def __str__(self) -> str:
        return f"{self.field}: {self.count}"
