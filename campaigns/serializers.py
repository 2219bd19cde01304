"""API shapes for campaigns, recipients and import reports (no business rules here)."""

from dataclasses import asdict
from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .engine import paths
from .engine.breaker import BreakerSettings
from .models import Campaign, ImportReport, Recipient
from .selectors import campaign_deferred_until, click_rate


class BreakerSchema(serializers.Serializer):
    consecutive = serializers.IntegerField()
    window = serializers.IntegerField()
    share = serializers.FloatField()
    min_attempts = serializers.IntegerField()
    optout_share = serializers.FloatField(allow_null=True)
    overrides = serializers.DictField()


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign with its live figures. `sent`, `delivered` and `read` are funnel figures:
    a read message also counts as delivered and sent."""

    template_id = serializers.UUIDField(read_only=True)
    template_name = serializers.CharField(source="template.name", read_only=True)
    account = serializers.UUIDField(source="account_id", read_only=True)
    pending = serializers.SerializerMethodField()
    sent = serializers.SerializerMethodField()
    delivered = serializers.SerializerMethodField()
    read = serializers.IntegerField(source="read_count", read_only=True)
    failed = serializers.IntegerField(source="failed_count", read_only=True)
    skipped = serializers.IntegerField(source="skipped_count", read_only=True)
    unknown = serializers.IntegerField(source="unknown_count", read_only=True)
    replied = serializers.IntegerField(source="replied_count", read_only=True)
    clicked = serializers.IntegerField(source="clicked_count", read_only=True)
    click_rate = serializers.SerializerMethodField()
    sending = serializers.IntegerField(source="sending_count", read_only=True)
    breaker = serializers.SerializerMethodField()
    deferred_until = serializers.SerializerMethodField()
    send_path = serializers.SerializerMethodField()
    numbers = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "status",
            "status_reason",
            "template_id",
            "template_name",
            "account",
            "numbers",
            "total_recipients",
            "pending",
            "sending",
            "sent",
            "delivered",
            "read",
            "failed",
            "skipped",
            "unknown",
            "replied",
            "clicked",
            "click_rate",
            "created_at",
            "started_at",
            "completed_at",
            "send_at",
            "offer_expires_at",
            "worker_count",
            "rate_limit",
            "breaker",
            "deferred_until",
            "marketing_policy",
            "message_activity_sharing",
            "send_path",
            "audience",
            "mapping",
            "audience_resolved_at",
        ]
        read_only_fields = fields

    def get_pending(self, obj) -> int:
        return obj.pending_count

    def get_sent(self, obj) -> int:
        return obj.sent_count + obj.delivered_count + obj.read_count

    def get_delivered(self, obj) -> int:
        return obj.delivered_count + obj.read_count

    def get_click_rate(self, obj) -> float | None:
        """clicked / delivered (delivered or read), 0..1 to 4 places; null before any
        delivery (docs/clicks.md)."""
        return click_rate(obj)

    @extend_schema_field(BreakerSchema)
    def get_breaker(self, obj) -> dict:
        """The thresholds the engine applies: the installation's, the workspace's, then the
        campaign's own overrides (`overrides`)."""
        effective = BreakerSettings.resolve(obj.workspace.breaker_defaults, obj.breaker)
        return {**asdict(effective), "overrides": obj.breaker}

    def get_deferred_until(self, obj) -> datetime | None:
        """A running campaign whose only remaining recipients wait for a later attempt
        (Meta's limits, the messaging tier) resumes then; null otherwise."""
        return campaign_deferred_until(obj)

    def get_numbers(self, obj) -> list[str]:
        """The WhatsApp accounts (numbers) the campaign sends from: its own `account` first,
        then the numbers it also sends from (the same WABA's), spread by the engine."""
        pool = sorted(str(n.account_id) for n in obj.pool.all())
        return [str(obj.account_id), *pool]

    def get_send_path(self, obj) -> str:
        """The endpoint the campaign's sends take, from its account and template as they are
        now: "marketing_messages" or "messages". Each recipient records the one it took."""
        return paths.send_path(obj)


def worker_count_field(**kwargs) -> serializers.IntegerField:
    low, high = Campaign.WORKER_COUNT_RANGE
    return serializers.IntegerField(min_value=low, max_value=high, **kwargs)


def rate_limit_field(**kwargs) -> serializers.IntegerField:
    low, high = Campaign.RATE_LIMIT_RANGE
    return serializers.IntegerField(min_value=low, max_value=high, **kwargs)


MARKETING_ONLY = (
    " Used only when the account has the Marketing Messages API on and the template is "
    "MARKETING (docs/whatsapp.md §11.2)."
)


def marketing_policy_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=Campaign.MarketingPolicy.choices,
        required=False,
        help_text="Meta's product_policy: CLOUD_API_FALLBACK delivers through the Cloud API "
        "when the Marketing Messages API cannot; STRICT does not (the message fails)."
        + MARKETING_ONLY,
    )


def activity_sharing_field() -> serializers.BooleanField:
    # default=None: left out is "keep", also in a form-encoded body (where DRF would read
    # a missing boolean as false).
    return serializers.BooleanField(
        default=None,
        allow_null=True,
        help_text="Meta's message_activity_sharing." + MARKETING_ONLY,
    )


def offer_expires_field() -> serializers.DateTimeField:
    return serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="A limited-time offer's end for every recipient whose row gives no "
        "offer_expiration_time (an aware time in the future; null clears it while no "
        "recipient is imported). Rows whose offer has ended by their send time are skipped.",
    )


def audience_field() -> serializers.JSONField:
    return serializers.JSONField(
        required=False,
        help_text="Who to send to besides imported rows, resolved when the campaign is sent: "
        '{"lists": [id…], "segments": [id…], "exclude_lists": [id…], "exclude_segments": '
        "[id…]} ({} for none; docs/audiences.md §5).",
    )


def mapping_field() -> serializers.JSONField:
    return serializers.JSONField(
        required=False,
        help_text='Each template column from a contact: {"body_param_1": "field:name", '
        '"body_param_2": "attribute:order_id", "header_media_url": "text:https://…"}; every '
        "required column once an audience is set.",
    )


def numbers_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=50,
        help_text="WhatsApp account ids of the numbers to send from besides the template's "
        "own (`account`, which may be listed too): the workspace's numbers on the same WABA, "
        "10 in all at most. Recipients are spread across them, each number paced by its own "
        "throughput; `rate_limit` may then be up to 1,000 per number. `[]`: the template's "
        "number only. Editable while draft, scheduled or paused.",
    )


class CampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    template_id = serializers.UUIDField()
    account = serializers.UUIDField(required=False, allow_null=True)
    # Omitted or `[]`: an empty draft, to import into later.
    recipients = serializers.ListField(child=serializers.DictField(), required=False)
    worker_count = worker_count_field(required=False)
    rate_limit = rate_limit_field(required=False)
    breaker = serializers.JSONField(
        required=False, help_text='Breaker overrides, e.g. {"consecutive": 20, "share": 0.3}.'
    )
    marketing_policy = marketing_policy_field()
    message_activity_sharing = activity_sharing_field()
    offer_expires_at = offer_expires_field()
    audience = audience_field()
    mapping = mapping_field()
    numbers = numbers_field()


class CampaignUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    template_id = serializers.UUIDField(required=False)
    worker_count = worker_count_field(required=False)
    rate_limit = rate_limit_field(required=False)
    breaker = serializers.JSONField(
        required=False, help_text="Breaker overrides to merge; a null removes one."
    )
    marketing_policy = marketing_policy_field()
    message_activity_sharing = activity_sharing_field()
    offer_expires_at = offer_expires_field()
    audience = audience_field()
    mapping = mapping_field()
    numbers = numbers_field()


class RecipientSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()
    number = serializers.UUIDField(
        source="number_id",
        read_only=True,
        allow_null=True,
        help_text="The WhatsApp account (number) it was sent from: one of the campaign's "
        "`numbers`; null until it is sent.",
    )

    class Meta:
        model = Recipient
        fields = [
            "id",
            "phone",
            "values",
            "status",
            "skip_reason",
            "wamid",
            "message_status",
            "attempts",
            "source_line",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
            "replied_at",
            "next_attempt_at",
            "pricing_category",
            "send_path",
            "number",
            "error",
        ]

    def get_error(self, obj) -> dict | None:
        if obj.error_code is None and not obj.error_title:
            return None
        return {
            "code": obj.error_code,
            "title": obj.error_title,
            "details": obj.error_details,
            "retryable": obj.error_retryable,
        }


RECIPIENT_STATUSES = ", ".join(Recipient.Status.values)


class RecipientQuerySerializer(serializers.Serializer):
    """The recipient list's query parameters (GET …/recipients/)."""

    status = serializers.CharField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    wamid = serializers.CharField(required=False, allow_blank=True, max_length=128)

    def validate_status(self, value: str) -> list[str]:
        statuses = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [s for s in statuses if s not in Recipient.Status.values]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown status {unknown[0]!r}; one of {RECIPIENT_STATUSES}."
            )
        return statuses

    def validate_phone(self, value: str) -> str:
        if value and not any(ch.isdigit() for ch in value):
            raise serializers.ValidationError("A phone number, or its first digits.")
        return value


class ImportReportSerializer(serializers.ModelSerializer):
    campaign = serializers.UUIDField(source="campaign_id", read_only=True)
    rejected_rows = serializers.ListField(source="rejected_sample", read_only=True)
    url = serializers.SerializerMethodField()
    rejections_url = serializers.SerializerMethodField()
    progress_rows = serializers.SerializerMethodField()

    class Meta:
        model = ImportReport
        fields = [
            "id",
            "campaign",
            "status",
            "source",
            "file_name",
            "file_size",
            "dry_run",
            "error",
            "rows_read",
            "imported",
            "rejected",
            "skipped_duplicate",
            "skipped_opted_out",
            "warnings",
            "rejected_rows",
            "preview",
            "url",
            "rejections_url",
            "progress_rows",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_url(self, obj) -> str | None:
        if obj._state.adding:
            return None
        return f"/api/v1/campaigns/{obj.campaign_id}/imports/{obj.pk}/"

    def get_rejections_url(self, obj) -> str | None:
        if obj._state.adding or obj.dry_run:
            return None
        return f"/api/v1/campaigns/{obj.campaign_id}/imports/{obj.pk}/rejections/"

    def get_progress_rows(self, obj) -> int | None:
        return self.context.get("progress_rows")


class FunnelCountsSchema(serializers.Serializer):
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField(help_text="Sent, including delivered and read.")
    delivered = serializers.IntegerField(help_text="Delivered, including read.")
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unknown = serializers.IntegerField()
    replied = serializers.IntegerField()
    clicked = serializers.IntegerField(
        help_text="Recipients who clicked a link (Broadcast's tracked link or Meta's click "
        "events), each once."
    )


class FunnelRatesSchema(serializers.Serializer):
    delivered = serializers.FloatField(allow_null=True, help_text="delivered / sent")
    read = serializers.FloatField(allow_null=True, help_text="read / delivered")
    replied = serializers.FloatField(allow_null=True, help_text="replied / delivered")
    clicked = serializers.FloatField(allow_null=True, help_text="clicked / delivered")
    failed = serializers.FloatField(allow_null=True, help_text="failed / (sent + failed)")


class FunnelSchema(serializers.Serializer):
    counts = FunnelCountsSchema()
    rates = FunnelRatesSchema(help_text="0..1, rounded to 4 places; null with no denominator.")


class TimelinePointSchema(serializers.Serializer):
    minute = serializers.DateTimeField(help_text="The minute's start, UTC.")
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    replied = serializers.IntegerField()


class FailureReasonSchema(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True, help_text="Meta's error code.")
    title = serializers.CharField()
    count = serializers.IntegerField()


class DeferredRecipientSchema(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    error_code = serializers.IntegerField(allow_null=True)
    error_title = serializers.CharField()


class DeferredSchema(serializers.Serializer):
    count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    recipients = DeferredRecipientSchema(many=True, help_text="The first 100, soonest first.")


class CostLineSchema(serializers.Serializer):
    category = serializers.CharField()
    messages = serializers.IntegerField()
    cost = serializers.FloatField()


class ActualCostSchema(serializers.Serializer):
    currency = serializers.CharField()
    total = serializers.FloatField(help_text="Billed messages priced by PRICE_TABLE_JSON.")
    billed_messages = serializers.IntegerField()
    free_messages = serializers.IntegerField(
        help_text="Service, free types, or `billable: false` in Meta's pricing: cost 0."
    )
    unpriced_messages = serializers.IntegerField(
        help_text="Billed, but the price table has no price for their category and country."
    )
    by_category = CostLineSchema(many=True)


class CampaignStatsSerializer(serializers.Serializer):
    campaign = serializers.UUIDField()
    status = serializers.CharField()
    generated_at = serializers.DateTimeField()
    funnel = FunnelSchema()
    timeline = TimelinePointSchema(many=True, help_text="Minutes with events, oldest first (UTC).")
    failure_reasons = FailureReasonSchema(many=True)
    deferred = DeferredSchema()
    held = serializers.IntegerField(
        help_text="Recipients Meta holds under template pacing (held_for_quality_assessment) "
        "until it delivers them or drops them (132015)."
    )
    actual_cost = ActualCostSchema(
        help_text="What Meta's status webhooks priced so far (recounted every 10 s)."
    )
