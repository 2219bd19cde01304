"""The OpenAPI examples of /api/v1/templates/ and the account's sync-templates
(templates_app/api.py)."""

from drf_spectacular.utils import OpenApiExample

TEMPLATE = {
    "id": "7b52309c-b5d2-4fad-932f-32f5ddd56ba0",
    "account": "7fb9ce27-777f-421e-8ed6-d5c7cd576740",
    "name": "parcel_update",
    "language": "en_US",
    "status": "APPROVED",
    "status_reason": "",
    "category": "UTILITY",
    "sub_category": "",
    "parameter_format": "POSITIONAL",
    "quality_score": "GREEN",
    "sendable": True,
    "meta_id": "1400000000000000",
    "last_synced_at": "2026-11-30T08:00:00Z",
    "removed_upstream_at": None,
}
TEMPLATE_DETAIL = {
    **TEMPLATE,
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{1}}, your parcel {{2}} arrives {{3}}.",
            "example": {"body_text": [["Ana", "PK-88213", "tomorrow"]]},
        }
    ],
    "variables": [
        {
            "column": f"body_param_{n}",
            "component": "body",
            "kind": "text",
            "position": n,
            "name": None,
            "button_index": None,
            "required": True,
            "example": example,
            "max_length": 1024,
        }
        for n, example in ((1, "Ana"), (2, "PK-88213"), (3, "tomorrow"))
    ],
    "columns": ["country_code", "phone_number", "body_param_1", "body_param_2", "body_param_3"],
    "preview": {
        "header": None,
        "body": "Hi Ana, your parcel PK-88213 arrives tomorrow.",
        "footer": None,
        "buttons": [],
    },
}

TEMPLATE_EXAMPLES = [OpenApiExample("approved template", value=TEMPLATE)]
TEMPLATE_DETAIL_EXAMPLES = [
    OpenApiExample(
        "with its spreadsheet columns and preview",
        value=TEMPLATE_DETAIL,
        description="`columns` are the sample spreadsheet's headings, in order.",
    )
]
SAMPLE_EXAMPLES = [
    OpenApiExample(
        "csv",
        media_type="text/csv",
        value="country_code,phone_number,body_param_1,body_param_2,body_param_3\r\n"
        "1,4155550100,Ana,PK-88213,tomorrow\r\n",
        response_only=True,
    )
]
SYNC_EXAMPLES = [
    OpenApiExample(
        "synced",
        value={
            "created": 2,
            "updated": 1,
            "removed": 0,
            "unchanged": 14,
            "campaigns_paused": 0,
            "total": 17,
        },
        description="`campaigns_paused`: campaigns stopped because their template can no "
        "longer be sent.",
    )
]
