"""What the OpenAPI schema says of /api/v1/campaigns/ and /api/v1/send-bulk/ beyond the
views' own serializers: the shape of the answers built as dicts (pre-flight), the examples,
and the campaign-specific refusals. Schema only: nothing here validates a request."""

from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers

from config.api_schema import error_response

CAMPAIGN_ID = "460765ce-093b-466f-b032-f1ecf9fdf7f7"
REPORT_ID = "0b7e1a58-6f0e-4d39-a7a4-3c8fd1e7c2d5"


class PreflightTemplateSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.CharField()
    quality = serializers.CharField(help_text="GREEN, YELLOW, RED or UNKNOWN")
    category = serializers.CharField()


class PreflightCostLineSerializer(serializers.Serializer):
    country_code = serializers.CharField(help_text='A calling code, or "other".')
    recipients = serializers.IntegerField()
    unit_price = serializers.FloatField(allow_null=True)
    cost = serializers.FloatField(allow_null=True)


class PreflightCostSerializer(serializers.Serializer):
    currency = serializers.CharField()
    total = serializers.FloatField()
    unpriced_recipients = serializers.IntegerField()
    by_country = PreflightCostLineSerializer(many=True)


class PreflightSerializer(serializers.Serializer):
    """campaigns/preflight.py `campaign_preflight`: what pressing send would do."""

    recipients = serializers.IntegerField()
    to_send = serializers.IntegerField()
    skipped = serializers.IntegerField()
    opted_out_since_import = serializers.IntegerField()
    estimated_seconds = serializers.FloatField(allow_null=True)
    effective_rate = serializers.IntegerField(help_text="Messages per second.")
    messaging_limit = serializers.IntegerField(
        allow_null=True, help_text="Unique users per 24 h; null: unlimited."
    )
    unique_sent_last_24h = serializers.IntegerField(allow_null=True)
    tier_headroom = serializers.IntegerField(allow_null=True)
    template = PreflightTemplateSerializer()
    cost = PreflightCostSerializer()
    warnings = serializers.ListField(child=serializers.CharField())


CAMPAIGN = {
    "id": CAMPAIGN_ID,
    "name": "November parcels",
    "status": "running",
    "status_reason": "",
    "template_id": "7b52309c-b5d2-4fad-932f-32f5ddd56ba0",
    "template_name": "parcel_update",
    "account": "7fb9ce27-777f-421e-8ed6-d5c7cd576740",
    "total_recipients": 1200,
    "pending": 700,
    "sending": 20,
    "sent": 480,
    "delivered": 455,
    "read": 210,
    "failed": 4,
    "skipped": 3,
    "unknown": 0,
    "replied": 12,
    "created_at": "2026-11-30T08:00:00Z",
    "started_at": "2026-11-30T09:00:00Z",
    "completed_at": None,
    "send_at": None,
    "worker_count": 10,
    "rate_limit": 80,
    "breaker": {
        "consecutive": 10,
        "window": 100,
        "share": 0.5,
        "min_attempts": 20,
        "optout_share": None,
        "overrides": {},
    },
    "deferred_until": None,
}
DRAFT = {
    **CAMPAIGN,
    "status": "draft",
    "total_recipients": 0,
    **dict.fromkeys(["pending", "sending", "sent", "delivered", "read", "failed"], 0),
    **dict.fromkeys(["skipped", "replied"], 0),
    "started_at": None,
}
IMPORT_REPORT = {
    "id": REPORT_ID,
    "campaign": CAMPAIGN_ID,
    "status": "completed",
    "source": "csv",
    "file_name": "november.csv",
    "file_size": 48213,
    "dry_run": False,
    "error": "",
    "rows_read": 1204,
    "imported": 1200,
    "rejected": 1,
    "skipped_duplicate": 2,
    "skipped_opted_out": 1,
    "warnings": [],
    "rejected_rows": [
        {"line": 17, "column": "phone_number", "reason": "not a phone number", "value": "12"}
    ],
    "preview": [],
    "url": f"/api/v1/campaigns/{CAMPAIGN_ID}/imports/{REPORT_ID}/",
    "rejections_url": f"/api/v1/campaigns/{CAMPAIGN_ID}/imports/{REPORT_ID}/rejections/",
    "progress_rows": None,
    "created_at": "2026-11-30T08:05:00Z",
    "finished_at": "2026-11-30T08:05:03Z",
}
RECIPIENT = {
    "id": 1,
    "phone": "+14155550100",
    "values": {"body_param_1": "Ana", "body_param_2": "PK-88213", "body_param_3": "tomorrow"},
    "status": "delivered",
    "skip_reason": "",
    "wamid": "wamid.HBgLMTQxNTU1NTAxMDAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA",
    "message_status": "delivered",
    "attempts": 1,
    "source_line": 2,
    "sent_at": "2026-11-30T09:00:02Z",
    "delivered_at": "2026-11-30T09:00:04Z",
    "read_at": None,
    "failed_at": None,
    "replied_at": None,
    "next_attempt_at": None,
    "pricing_category": "utility",
    "error": None,
}
PREFLIGHT = {
    "recipients": 1200,
    "to_send": 1197,
    "skipped": 3,
    "opted_out_since_import": 0,
    "estimated_seconds": 15.0,
    "effective_rate": 80,
    "messaging_limit": 2000,
    "unique_sent_last_24h": 150,
    "tier_headroom": 1850,
    "template": {
        "name": "parcel_update",
        "status": "APPROVED",
        "quality": "GREEN",
        "category": "UTILITY",
    },
    "cost": {
        "currency": "USD",
        "total": 4.788,
        "unpriced_recipients": 0,
        "by_country": [
            {"country_code": "1", "recipients": 1197, "unit_price": 0.004, "cost": 4.788}
        ],
    },
    "warnings": [],
}

CAMPAIGN_EXAMPLES = [OpenApiExample("campaign", value=CAMPAIGN, response_only=True)]
CREATE_EXAMPLES = [
    OpenApiExample(
        "draft with recipients",
        request_only=True,
        value={
            "name": "November parcels",
            "template_id": "7b52309c-b5d2-4fad-932f-32f5ddd56ba0",
            "recipients": [
                {
                    "phone_number": "+14155550100",
                    "body_param_1": "Ana",
                    "body_param_2": "PK-88213",
                    "body_param_3": "tomorrow",
                }
            ],
            "rate_limit": 40,
        },
    ),
    OpenApiExample(
        "draft",
        response_only=True,
        value={**DRAFT, "import": {**IMPORT_REPORT, "source": "json", "file_name": ""}},
        description="With `recipients`, the answer has their import report under `import`.",
    ),
]
UPDATE_EXAMPLES = [
    OpenApiExample(
        "rename and slow down", request_only=True, value={"name": "Nov", "rate_limit": 20}
    ),
    OpenApiExample("updated draft", response_only=True, value={**DRAFT, "rate_limit": 20}),
]
SEND_EXAMPLES = [
    OpenApiExample(
        "schedule",
        request_only=True,
        value={"send_at": "2026-12-01T09:00:00+01:00"},
        description="Leave the body empty to start now.",
    ),
    *CAMPAIGN_EXAMPLES,
]
STATUS_EXAMPLES = [OpenApiExample("pause", request_only=True, value={"status": "paused"})]
RERUN_EXAMPLES = [
    OpenApiExample("the failed ones", request_only=True, value={"segment": "failed"}),
    OpenApiExample("new draft", response_only=True, value={**DRAFT, "name": "Nov (failed)"}),
]
RETRY_EXAMPLES = [
    OpenApiExample(
        "requeued", value={"requeued": 4, "campaign": {**CAMPAIGN, "failed": 0, "pending": 704}}
    )
]
PREFLIGHT_EXAMPLES = [OpenApiExample("ready", value=PREFLIGHT)]
RECIPIENT_EXAMPLES = [OpenApiExample("delivered", value=RECIPIENT, response_only=True)]
IMPORT_EXAMPLES = [
    OpenApiExample(
        "JSON rows",
        request_only=True,
        media_type="application/json",
        value=[
            {
                "phone_number": "+14155550100",
                "body_param_1": "Ana",
                "body_param_2": "PK-88213",
                "body_param_3": "tomorrow",
            }
        ],
    ),
    OpenApiExample(
        "imported",
        response_only=True,
        status_codes=["200", "201", "202"],
        value=IMPORT_REPORT,
        description="202: a large file imports in the background; poll `url`.",
    ),
]
REPORT_EXAMPLES = [OpenApiExample("import report", value=IMPORT_REPORT)]
REJECTIONS_EXAMPLES = [
    OpenApiExample(
        "csv",
        media_type="text/csv",
        value="line,kind,column,reason,value\r\n17,rejected,phone_number,not a phone number,12\r\n",
    )
]
BULK_EXAMPLES = [
    OpenApiExample(
        "send now",
        request_only=True,
        value={
            "name": "Password reset notice",
            "template_id": "7b52309c-b5d2-4fad-932f-32f5ddd56ba0",
            "recipients": [
                {
                    "phone_number": "+14155550100",
                    "body_param_1": "Ana",
                    "body_param_2": "PK-88213",
                    "body_param_3": "tomorrow",
                }
            ],
        },
    ),
    OpenApiExample(
        "started",
        response_only=True,
        value={**CAMPAIGN, "import": {**IMPORT_REPORT, "source": "json", "file_name": ""}},
    ),
]

CANNOT_TRANSITION = error_response(
    "The campaign's state does not allow this (e.g. pausing a draft, sending one with no "
    "recipients, editing a running one).",
    detail="cannot pause a draft campaign",
    code="invalid_transition",
)
IMPORT_NOT_ALLOWED = error_response(
    "The campaign no longer takes recipients: only a draft or scheduled one does.",
    detail="cannot add recipients to a running campaign (only draft or scheduled)",
    code="import_not_allowed",
)
FILE_TOO_LARGE = error_response(
    "The uploaded file is over IMPORT_MAX_FILE_BYTES, or the JSON body over "
    "DATA_UPLOAD_MAX_MEMORY_SIZE.",
    detail="The file is 250 MB; the limit is 200 MB.",
    code="file_too_large",
)
