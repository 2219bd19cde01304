"""The OpenAPI examples of /api/v1/whatsapp-accounts/ (whatsapp/api.py)."""

from drf_spectacular.utils import OpenApiExample

from config.api_schema import error_response

ACCOUNT = {
    "id": "7fb9ce27-777f-421e-8ed6-d5c7cd576740",
    "workspace": "aa8bef63-03da-420d-8d38-015addac382c",
    "name": "Support line",
    "waba_id": "102290129340398",
    "phone_number_id": "106540352242922",
    "display_phone_number": "15550783881",
    "access_token": "••••a1b2",
    "app_secret": "••••c3d4",
    "verify_token": "••••e5f6",
    "throughput": 80,
    "messaging_limit_tier": "2000",
    "state": "active",
    "state_reason": "",
    "last_error_code": None,
    "last_error_details": "",
    "last_error_at": None,
    "templates_synced_at": "2026-11-30T08:00:00Z",
    "created_at": "2026-11-02T10:15:00Z",
    "updated_at": "2026-11-30T08:00:00Z",
}

ACCOUNT_EXAMPLES = [
    OpenApiExample(
        "connection",
        response_only=True,
        value=ACCOUNT,
        description="Secrets read back masked: only their last four characters show.",
    ),
]
CREATE_EXAMPLES = [
    OpenApiExample(
        "connect a number",
        request_only=True,
        value={
            "name": "Support line",
            "waba_id": "102290129340398",
            "phone_number_id": "106540352242922",
            "display_phone_number": "15550783881",
            "access_token": "EAAG…",
            "app_secret": "0f1e2d3c4b5a…",
            "throughput": 80,
        },
    ),
    *ACCOUNT_EXAMPLES,
]
UPDATE_EXAMPLES = [
    OpenApiExample(
        "rotate the access token",
        request_only=True,
        value={"access_token": "EAAG…new"},
        description="Left-out secrets keep their stored value.",
    ),
    *ACCOUNT_EXAMPLES,
]

IN_USE = error_response(
    "The connection has campaigns: delete them first.",
    detail="This connection has campaigns; delete them first (their history refers to it).",
    code="account_in_use",
)
NO_SUCH_WORKSPACE = error_response(
    "The `workspace` named is not one of the caller's.",
    detail="No Workspace matches the given query.",
    code="not_found",
)
