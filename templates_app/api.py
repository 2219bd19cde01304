"""REST API for the template catalogue: /api/v1/templates/, and reading an account's
templates from WhatsApp now: POST /api/v1/whatsapp-accounts/{id}/sync-templates/."""

from dataclasses import asdict

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api_schema import UPSTREAM
from whatsapp.preview import render_preview
from whatsapp.selectors import account_get_for_user
from whatsapp.variables import spreadsheet_columns, variables_for

from .api_examples import (
    SAMPLE_EXAMPLES,
    SYNC_EXAMPLES,
    TEMPLATE_DETAIL_EXAMPLES,
    TEMPLATE_EXAMPLES,
)
from .filters import TemplateFilter
from .models import MessageTemplate
from .samples import sample_csv, sample_filename, sample_xlsx
from .selectors import template_get_for_user, template_list_for_user
from .services import templates_sync

SAMPLE_TYPES = {
    "csv": ("text/csv; charset=utf-8", sample_csv),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        sample_xlsx,
    ),
}


class TemplateSerializer(serializers.ModelSerializer):
    sendable = serializers.BooleanField(source="is_sendable", read_only=True)

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "account",
            "name",
            "language",
            "status",
            "status_reason",
            "category",
            "sub_category",
            "parameter_format",
            "quality_score",
            "message_send_ttl_seconds",
            "sendable",
            "meta_id",
            "last_synced_at",
            "removed_upstream_at",
        ]


class TemplateDetailSerializer(TemplateSerializer):
    variables = serializers.SerializerMethodField()
    columns = serializers.SerializerMethodField()
    preview = serializers.SerializerMethodField()

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "components", "variables", "columns", "preview"]

    def get_variables(self, obj) -> list[dict]:
        return [asdict(v) for v in variables_for(obj)]

    def get_columns(self, obj) -> list[str]:
        return spreadsheet_columns(variables_for(obj))

    def get_preview(self, obj) -> dict:
        examples = {v.column: v.example for v in variables_for(obj) if v.example}
        return render_preview(
            components=obj.components, parameter_format=obj.parameter_format, values=examples
        )


@extend_schema_view(
    list=extend_schema(examples=TEMPLATE_EXAMPLES),
    retrieve=extend_schema(examples=TEMPLATE_DETAIL_EXAMPLES),
)
class TemplateViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    filterset_class = TemplateFilter  # the list's parameters: account, status, ordering…

    def get_serializer_class(self):
        return TemplateSerializer if self.action == "list" else TemplateDetailSerializer

    def get_queryset(self):
        return template_list_for_user(user=self.request.user)

    def get_object(self):
        return template_get_for_user(user=self.request.user, template_id=self.kwargs["pk"])

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["csv", "xlsx"])],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, SAMPLE_TYPES["xlsx"][0]): OpenApiTypes.BINARY,
        },
        examples=SAMPLE_EXAMPLES,
    )
    @action(detail=True, methods=["get"])
    def sample(self, request, pk=None):
        """The spreadsheet to fill: exactly this template's columns and one example row."""
        fmt = (request.query_params.get("format") or "csv").lower()
        if fmt not in SAMPLE_TYPES:
            raise ValidationError({"format": ["Use csv or xlsx."]})
        template = self.get_object()
        content_type, build = SAMPLE_TYPES[fmt]
        response = HttpResponse(build(template), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{sample_filename(template, fmt)}"'
        return response


class AccountTemplateSyncView(APIView):
    """Routed beside the accounts API (config/urls.py): whatsapp, below templates_app in the
    app graph, cannot call the catalogue sync itself."""

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "SyncResult",
                {
                    k: serializers.IntegerField()
                    for k in (
                        "created",
                        "updated",
                        "removed",
                        "unchanged",
                        "campaigns_paused",
                        "total",
                    )
                },
            ),
            502: UPSTREAM,
        },
        examples=SYNC_EXAMPLES,
    )
    def post(self, request, pk):
        """Read the account's templates from WhatsApp now (any member may refresh). WhatsApp
        failing is a 502 saying what happened (TemplateSyncError)."""
        account = account_get_for_user(user=request.user, account_id=pk)
        result = templates_sync(account=account)
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "removed": result.removed,
                "unchanged": result.unchanged,
                "campaigns_paused": result.campaigns_paused,
                "total": result.total,
            }
        )
