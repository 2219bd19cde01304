"""Campaigns, their recipients, opt-outs, statuses waiting for their send, and import reports.

The Recipient table is the one that grows to millions of rows per campaign: its shape and
indexes are chosen for the sending engine's and the webhook processor's queries, each index
commented with the query it serves.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Workspace
from templates_app.models import MessageTemplate
from whatsapp.models import WhatsAppAccount

# The ranges a campaign's settings may take, declared once: the fields' validators, the check
# constraints, the API's serializers and the dashboard's form all read them (inclusive).
WORKER_COUNT_RANGE = (1, 100)
# A campaign sends at most 1,000 msg/s per number it sends from (models_numbers.py): the
# range is that of a full pool, and the services check it against the campaign's numbers.
RATE_LIMIT_RANGE = (1, 10_000)


def _in_range(bounds: tuple[int, int]) -> list:
    return [MinValueValidator(bounds[0]), MaxValueValidator(bounds[1])]


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    WORKER_COUNT_RANGE = WORKER_COUNT_RANGE
    RATE_LIMIT_RANGE = RATE_LIMIT_RANGE

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    account = models.ForeignKey(WhatsAppAccount, on_delete=models.PROTECT, related_name="campaigns")
    template = models.ForeignKey(
        MessageTemplate, on_delete=models.PROTECT, related_name="campaigns"
    )
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Why the campaign is paused or failed, in words for the operator.
    status_reason = models.TextField(blank=True)
    worker_count = models.PositiveSmallIntegerField(
        default=10, validators=_in_range(WORKER_COUNT_RANGE)
    )
    rate_limit = models.PositiveIntegerField(
        default=80, help_text="messages per second", validators=_in_range(RATE_LIMIT_RANGE)
    )
    # Overrides of the breaker's thresholds (campaigns/engine/breaker.py) for this campaign;
    # {} means the workspace's defaults. Editable while draft or paused.
    breaker = models.JSONField(default=dict, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class MarketingPolicy(models.TextChoices):
        # Meta's `product_policy` on the Marketing Messages API (docs/whatsapp.md §11.2).
        CLOUD_API_FALLBACK = "CLOUD_API_FALLBACK", "Fall back to the Cloud API"
        STRICT = "STRICT", "Marketing Messages API only"

    # Used only when the account has the Marketing Messages API on and the template is
    # MARKETING (campaigns/engine/paths.py); every other send goes to /messages.
    marketing_policy = models.CharField(
        max_length=20,
        choices=MarketingPolicy.choices,
        default=MarketingPolicy.CLOUD_API_FALLBACK,
        db_default=MarketingPolicy.CLOUD_API_FALLBACK,
    )
    message_activity_sharing = models.BooleanField(default=True, db_default=True)
    # A limited-time offer's expiry for every recipient whose row gives none.
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    # Who the campaign sends to besides its imported rows (docs/audiences.md):
    # {"lists": [...], "segments": [...], "exclude_lists": [...], "exclude_segments": [...]},
    # resolved into recipients when it is sent (or its schedule fires); {} for none. And how
    # each template column is filled from a contact: {"body_param_1": "field:name", …}.
    audience = models.JSONField(
        default=dict, blank=True, db_default=models.Value({}, models.JSONField())
    )
    mapping = models.JSONField(
        default=dict, blank=True, db_default=models.Value({}, models.JSONField())
    )
    audience_resolved_at = models.DateTimeField(null=True, blank=True)

    # Counters by recipient state, changed in the same transaction as the recipients, so
    # reading the live figures is one row. `recount` rebuilds them from the recipients.
    total_recipients = models.PositiveIntegerField(default=0)
    pending_count = models.PositiveIntegerField(default=0)
    sending_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    delivered_count = models.PositiveIntegerField(default=0)
    read_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    unknown_count = models.PositiveIntegerField(default=0)
    replied_count = models.PositiveIntegerField(default=0)
    # Recipients with at least one click recorded (redirect or Meta's click events).
    clicked_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(worker_count__gte=WORKER_COUNT_RANGE[0])
                & Q(worker_count__lte=WORKER_COUNT_RANGE[1]),
                name="campaign_worker_count_range",
            ),
            models.CheckConstraint(
                condition=Q(rate_limit__gte=RATE_LIMIT_RANGE[0])
                & Q(rate_limit__lte=RATE_LIMIT_RANGE[1]),
                name="campaign_rate_limit_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "scheduled",
                        "running",
                        "paused",
                        "completed",
                        "stopped",
                        "failed",
                    ]
                ),
                name="campaign_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="scheduled") | Q(send_at__isnull=False),
                name="campaign_scheduled_has_send_at",
            ),
        ]
        indexes = [
            # Campaign list: WHERE workspace_id IN (…) [AND status = ?] ORDER BY created_at DESC.
            models.Index(fields=["workspace", "status", "-created_at"], name="campaign_ws_idx"),
            # Beat: WHERE status = 'scheduled' AND send_at <= now(); and the running sweep.
            models.Index(fields=["status", "send_at"], name="campaign_status_send_at_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Recipient(models.Model):
    """One phone number of one campaign, with its values and where its message stands.

    Its state machine (pending → sending → sent → delivered → read; failed, skipped,
    unknown) is drawn once, with what moves each transition, in docs/recipient-states.md;
    the code that moves it is the engine (campaigns/engine/) and recipient tracking
    (campaigns/tracking/), each change counted in the campaign's counters in the same
    transaction.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        UNKNOWN = "unknown", "Unknown"

    # A bigint key (not a UUID): recipients are addressed through their campaign's UUID, and the
    # id travels in every send's biz_opaque_callback_data, where short is better.
    id = models.BigAutoField(primary_key=True)
    # No foreign-key constraint in the database (db_constraint=False): checked per row, it was
    # ~45 % of the server's work in a million-row import's COPY. Integrity holds without it:
    # recipients are only inserted by an import, a rerun or an audience, each of which holds
    # the campaign row (SELECT … FOR UPDATE, or created in the same transaction), and a
    # campaign's recipients are deleted with it (Django's CASCADE, which never relied on the
    # database). See docs/architecture.md §4.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="recipients",
        db_index=False,
        db_constraint=False,
    )
    phone = models.CharField(max_length=20, help_text="E.164, e.g. +14155550100")
    # The row's template values, keyed by spreadsheet column (body_param_1, header_media_url…).
    values = models.JSONField(default=dict, blank=True)
    source_line = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    skip_reason = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Retry backoff (RETRY) and deferral (DEFER, e.g. 131049): not claimable before this time.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The lease of the worker that claimed the row; an expired lease is recovered by beat.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    # Unique where set (recipient_wamid_unique): a partial index, so the rows an import adds
    # (all without a wamid yet) cost it nothing.
    wamid = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    # The send's message_status as Meta answered it (accepted, or held_for_quality_assessment
    # under template pacing, HELD); a held one's first status webhook clears it.
    message_status = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    # The first click of this recipient (docs/clicks.md); set once.
    clicked_at = models.DateTimeField(null=True, blank=True)
    # Which Graph endpoint took the send: "messages" or "marketing_messages"; "" until sent.
    send_path = models.CharField(max_length=20, blank=True, default="", db_default="")
    # The contact the recipient was resolved from (an audience), for its timeline; null for
    # an imported row. Not a database constraint: imports and the engine write this table. No
    # index of the ForeignKey's own: it would hold every imported row's NULL; the partial
    # recipient_contact_idx serves the timeline.
    contact = models.ForeignKey(
        "campaigns.Contact",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_index=False,
        db_constraint=False,
        related_name="recipients",
    )
    # The number the recipient was (last) claimed to be sent from: its own campaign's account
    # or one of the campaign's pool (models_numbers.py); null until claimed. Set by the
    # claim's own UPDATE. No constraint or index: matched only together with a wamid, an id
    # or a phone (status webhooks, replies, clicks), and numbers in use cannot be deleted.
    number = models.ForeignKey(
        WhatsAppAccount,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_index=False,
        db_constraint=False,
        related_name="+",
    )
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    error_details = models.TextField(blank=True)
    error_retryable = models.BooleanField(null=True, blank=True)
    pricing_category = models.CharField(max_length=40, blank=True)
    # The rest of the status webhook's `pricing`: whether Meta bills the message, and its type
    # (regular, free_customer_service, free_entry_point…): the campaign's actual cost
    # (selectors.campaign_actual_cost). Database defaults: the import's COPY leaves them out.
    pricing_billable = models.BooleanField(null=True, blank=True)
    pricing_type = models.CharField(max_length=40, blank=True, default="", db_default="")
    pricing_model = models.CharField(max_length=10, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "phone"], name="recipient_phone_unique"),
            # Status webhooks: WHERE wamid = ANY(…) AND wamid IS NOT NULL (say so: a partial
            # index is only used when the query implies its condition).
            models.UniqueConstraint(
                fields=["wamid"],
                condition=Q(wamid__isnull=False),
                name="recipient_wamid_unique",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "pending",
                        "sending",
                        "sent",
                        "delivered",
                        "read",
                        "failed",
                        "skipped",
                        "unknown",
                    ]
                ),
                name="recipient_status_valid",
            ),
        ]
        indexes = [
            # Listing, export, recount and rerun: WHERE campaign_id = ? AND status = ? ORDER BY id;
            # and the engine's claim: … status = 'pending' ORDER BY id LIMIT n FOR UPDATE SKIP
            # LOCKED. (Every index costs each imported row an insert: the import's bound.)
            models.Index(fields=["campaign", "status", "id"], name="recipient_campaign_status_idx"),
            # Lease recovery: WHERE status = 'sending' AND claimed_at < now() - lease.
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="recipient_sending_lease_idx",
            ),
            # Inbound replies: WHERE phone = ? AND sent_at BETWEEN ? AND ?; the frequency cap:
            # sent in the window or in flight (audiences/cap.py). Only sent and sending rows,
            # so imported rows cost it nothing.
            models.Index(
                fields=["phone"],
                condition=Q(sent_at__isnull=False) | Q(status="sending"),
                name="recipient_phone_idx",
            ),
            # A contact's timeline across campaigns: WHERE contact_id = ?; only rows resolved
            # from an audience pay for it.
            models.Index(
                fields=["contact", "id"],
                condition=Q(contact__isnull=False),
                name="recipient_contact_idx",
            ),
            # Held by Meta's template pacing (docs/whatsapp.md §11.3): accepted as
            # held_for_quality_assessment and no status since; only those rows pay for it.
            models.Index(
                fields=["campaign"],
                condition=Q(status="sent", message_status="held_for_quality_assessment"),
                name="recipient_held_idx",
            ),
            # Stats, failure reasons: WHERE campaign_id = ? AND status = 'failed' GROUP BY
            # error_code, an index-only scan; only failed rows pay for it.
            models.Index(
                fields=["campaign", "error_code"],
                condition=Q(status="failed"),
                name="recipient_failed_code_idx",
            ),
            # Stats, deferred recipients: WHERE campaign_id = ? AND status = 'pending' AND
            # next_attempt_at IS NOT NULL ORDER BY next_attempt_at; only waiting rows.
            models.Index(
                fields=["campaign", "next_attempt_at"],
                condition=Q(status="pending", next_attempt_at__isnull=False),
                name="recipient_deferred_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone} ({self.status})"


class TimelineMinute(models.Model):
    """A campaign's events in one UTC minute: how many recipients' sent, delivered, read,
    failed and replied times fall in it. Kept in the same transactions as the recipients'
    times (campaigns/tracking/timeline.py), so the stats' timeline is a few hundred rows to
    read however large the campaign, and always equals a recount from the recipients."""

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="timeline", db_index=False
    )
    minute = models.DateTimeField()
    # Plain integers: a batch may move a time out of one minute before into another.
    sent = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    read = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    replied = models.IntegerField(default=0)

    class Meta:
        constraints = [
            # The upsert's conflict target, and the stats' WHERE campaign_id = ? ORDER BY minute.
            models.UniqueConstraint(fields=["campaign", "minute"], name="timeline_minute_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.minute:%Y-%m-%d %H:%M}"


class OptOut(models.Model):
    class Source(models.TextChoices):
        KEYWORD = "keyword", "Inbound keyword (e.g. STOP)"
        USER_PREFERENCES = "user_preferences", "WhatsApp marketing preferences"
        ERROR = "error", "Meta error 131050"
        MANUAL = "manual", "Added by an operator"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="opt_outs")
    phone = models.CharField(max_length=20, help_text="E.164")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    detail = models.TextField(blank=True)
    # When the person opted out (the message's time, which may be earlier than its arrival):
    # an opt-in message sent before it does not lift it, whatever the order they arrive in.
    opted_out_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Import and send check: WHERE workspace_id = ? AND phone IN (…).
            models.UniqueConstraint(fields=["workspace", "phone"], name="optout_unique"),
        ]

    def __str__(self) -> str:
        return self.phone


class OptIn(models.Model):
    """The latest opt-in of a number (START, or `user_preferences` resume), by the way it was
    given: an opt-out message sent before it, arriving later, is then ignored (webhooks come
    in any order)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="opt_ins")
    phone = models.CharField(max_length=20, help_text="E.164")
    by = models.CharField(max_length=20, choices=OptOut.Source.choices)
    opted_in_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "phone", "by"], name="optin_unique"),
        ]

    def __str__(self) -> str:
        return self.phone


class ImportReport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    source = models.CharField(max_length=10, help_text="csv, xlsx or json")
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(default=0)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # A whole-file error (missing column, unreadable file): nothing was imported.
    error = models.TextField(blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    skipped_duplicate = models.PositiveIntegerField(default=0)
    skipped_opted_out = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    # The first rejected rows inline ({line, column, reason, value}); all are ImportRejections.
    rejected_sample = models.JSONField(default=list, blank=True)
    # The first rows rendered as the message the recipient will see.
    preview = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name or self.source} → {self.campaign_id}"


class ImportRejection(models.Model):
    """Every rejected or skipped row of an import, for the downloadable CSV."""

    class Kind(models.TextChoices):
        REJECTED = "rejected", "Rejected"
        SKIPPED = "skipped", "Skipped"

    report = models.ForeignKey(ImportReport, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REJECTED)
    column = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    value = models.TextField(blank=True)

    class Meta:
        indexes = [
            # Download: WHERE report_id = ? ORDER BY line.
            models.Index(fields=["report", "line"], name="rejection_report_line_idx"),
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class PendingStatus(models.Model):
    """A status webhook for a send whose wamid is not recorded yet (the engine records wamids
    in bulk after Meta answers, and Meta's webhook can be faster). Applied as soon as the
    wamid appears; never dropped before WEBHOOK_PENDING_STATUS_RETENTION_DAYS."""

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(WhatsAppAccount, on_delete=models.CASCADE, related_name="+")
    wamid = models.CharField(max_length=128)
    status = models.CharField(max_length=16)
    timestamp = models.DateTimeField()
    # The status item exactly as Meta sent it (errors, pricing, callback data).
    payload = models.JSONField()
    # The WebhookEvent it came in, for tracing; not a foreign key, so that pruning old events
    # stays a plain DELETE.
    event_id = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Created by the webhooks app before tracking moved here; the table kept its name.
        db_table = "webhooks_pendingstatus"
        verbose_name = "pending status"
        verbose_name_plural = "pending statuses"
        ordering = ["-id"]
        indexes = [
            # Apply once recorded: WHERE wamid IN (…) (the engine's call, and beat's retry).
            models.Index(fields=["wamid"], name="pendingstatus_wamid_idx"),
            # Retention: WHERE received_at < now() - age.
            models.Index(fields=["received_at"], name="pendingstatus_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.wamid} {self.status}"


from .models_audiences import (  # noqa: E402  (their own module: this one is long enough)
    Contact,
    ContactImport,
    ContactImportRejection,
    ContactList,
    ContactListMember,
    Segment,
)
from .models_clicks import Click  # noqa: E402
from .models_numbers import CampaignNumber  # noqa: E402

__all__ = [
    "Campaign",
    "CampaignNumber",
    "Click",
    "Contact",
    "ContactImport",
    "ContactImportRejection",
    "ContactList",
    "ContactListMember",
    "Segment",
    "ImportRejection",
    "ImportReport",
    "OptIn",
    "OptOut",
    "PendingStatus",
    "Recipient",
    "TimelineMinute",
]
