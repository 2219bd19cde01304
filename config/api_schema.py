"""The OpenAPI pieces every API view shares: the error bodies, the responses any operation can
give (added by `AutoSchema`, so a view declares only its own 403/409/502), and the examples of
the token endpoints, which are simplejwt's views.

What the bodies look like is decided by config/api_exceptions.py: a refusal is
`{"detail", "code"}`; invalid input is DRF's `{"field": ["message"]}`.
"""

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenViewBase


class ErrorSerializer(serializers.Serializer):
    """A refusal: what went wrong, for a person, and a stable name for a program."""

    detail = serializers.CharField(help_text="What went wrong, written for the user.")
    code = serializers.CharField(
        required=False,
        help_text=(
            "A stable, machine-readable name to branch on (`permission_denied`, "
            "`invalid_transition`, `account_in_use`, …); the `detail` text may change."
        ),
    )

    class Meta:
        ref_name = "Error"


class ValidationErrorSerializer(serializers.Serializer):
    """Invalid input; its schema is written by ValidationErrorExtension (the keys are the
    request's own field names, which a serializer cannot declare)."""


class ValidationErrorExtension(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def get_name(self, auto_schema, direction):
        return "ValidationError"

    def map_serializer(self, auto_schema, direction):
        return {
            "type": "object",
            "description": (
                "Each invalid field with its messages (`non_field_errors` for the body as a "
                "whole; an object for an item of a list); or `{detail, code}` when the input "
                "cannot be used as a whole (e.g. a malformed JSON body)."
            ),
            "additionalProperties": {
                "anyOf": [
                    {"type": "array", "items": {}},
                    {"type": "object"},
                    {"type": "string"},
                ]
            },
        }


def error_response(description: str, *, detail: str, code: str) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"detail": detail, "code": code})],
    )


BAD_REQUEST = OpenApiResponse(
    ValidationErrorSerializer,
    description="The input is invalid; nothing was changed.",
    examples=[
        OpenApiExample("invalid", value={"name": ["This field is required."]}),
    ],
)
UNAUTHENTICATED = error_response(
    "No valid credentials: send `Authorization: Bearer <access token>`.",
    detail="Authentication credentials were not provided.",
    code="not_authenticated",
)
FORBIDDEN = error_response(
    "Authenticated, but the workspace role does not allow this (only an owner may).",
    detail="Only a workspace owner can manage WhatsApp connections.",
    code="permission_denied",
)
NOT_FOUND = error_response(
    "No such object in the caller's workspaces (another workspace's objects are not found "
    "either), or no such page.",
    detail="No Campaign matches the given query.",
    code="not_found",
)
CONFLICT = error_response(
    "The request is valid, but the object's current state forbids it.",
    detail="cannot pause a draft campaign",
    code="invalid_transition",
)
TOO_LARGE = error_response(
    "The request body (or the uploaded file) is over the size limit.",
    detail="The request body is over 5 MB. Send large recipient lists as a CSV or XLSX file "
    "upload instead.",
    code="too_large",
)
THROTTLED = error_response(
    "Too many requests; retry after the `Retry-After` header's seconds.",
    detail="Request was throttled. Expected available in 30 seconds.",
    code="throttled",
)
UPSTREAM = error_response(
    "WhatsApp's Graph API failed or refused; the detail says how.",
    detail="WhatsApp refused the access token (190): Invalid OAuth access token.",
    code="whatsapp_unavailable",
)

UNSAFE_METHODS = ("POST", "PUT", "PATCH")
# An unknown page or cursor is a 404 (DRF's paginators), not a 400.
PAGING_PARAMETERS = {"page", "page_size", "cursor"}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the errors any operation of this API can answer: 400
    (invalid body or query), 401 (no or bad token), 404 (a path id, or a page, that does not
    exist for the caller), 413 (a body over DATA_UPLOAD_MAX_MEMORY_SIZE) and 429 (a throttled
    view). A view's own `responses` take precedence."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in self._shared_errors().items():
            responses.setdefault(code, self._get_response_for_code(response, code))
        return responses

    def _shared_errors(self) -> dict[str, OpenApiResponse]:
        has_body = self.method in UNSAFE_METHODS and self.get_request_serializer() is not None
        has_query = any(
            p.get("in") == "query" and p.get("name") not in PAGING_PARAMETERS
            for p in self._get_parameters()
        )
        errors = {}
        if has_body or has_query:
            errors["400"] = BAD_REQUEST
        permissions = self.view.get_permissions()
        if isinstance(self.view, TokenViewBase) or not all(
            isinstance(p, AllowAny) for p in permissions
        ):
            errors["401"] = UNAUTHENTICATED
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            errors["404"] = NOT_FOUND
        if has_body:
            errors["413"] = TOO_LARGE
        if self.view.get_throttles():
            errors["429"] = THROTTLED
        return errors


TOKEN_PAIR_EXAMPLES = [
    OpenApiExample(
        "credentials",
        request_only=True,
        value={"username": "alice", "password": "correct horse battery staple"},
    ),
    OpenApiExample(
        "tokens",
        response_only=True,
        value={"access": "eyJhbGciOiJIUzI1NiIs…", "refresh": "eyJhbGciOiJIUzI1NiIs…"},
    ),
]
TOKEN_REFRESH_EXAMPLES = [
    OpenApiExample("refresh token", request_only=True, value={"refresh": "eyJhbGciOi…"}),
    OpenApiExample("new access token", response_only=True, value={"access": "eyJhbGciOi…"}),
]


class TokenObtainPairViewExtension(OpenApiViewExtension):
    target_class = "rest_framework_simplejwt.views.TokenObtainPairView"

    def view_replacement(self):
        @extend_schema(
            summary="Log in: a username and password for an access and a refresh token",
            examples=TOKEN_PAIR_EXAMPLES,
        )
        class Documented(self.target_class):
            pass

        return Documented


class TokenRefreshViewExtension(OpenApiViewExtension):
    target_class = "rest_framework_simplejwt.views.TokenRefreshView"

    def view_replacement(self):
        @extend_schema(
            summary="A new access token for a refresh token", examples=TOKEN_REFRESH_EXAMPLES
        )
        class Documented(self.target_class):
            pass

        return Documented
