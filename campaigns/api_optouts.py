"""The workspace's opt-out list: /api/v1/opt-outs/ (newest first) and its export."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination

from accounts.selectors import scoped

from .api_reports import FILE_RESPONSES, FORMAT_PARAMETER, download_response
from .exports import optouts_export
from .models import OptOut


class OptOutSerializer(serializers.ModelSerializer):
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)

    class Meta:
        model = OptOut
        fields = ["id", "workspace", "phone", "source", "detail", "opted_out_at", "created_at"]
        read_only_fields = fields


class OptOutPagination(CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


PHONE_PARAMETER = OpenApiParameter(
    "phone", str, description="Only numbers that start with these digits (e.g. +4477)."
)


@extend_schema(parameters=[PHONE_PARAMETER])
class OptOutViewSet(viewsets.ReadOnlyModelViewSet):
    """The numbers that will not be sent to (STOP, WhatsApp's marketing preferences, Meta's
    131050, or an operator), in every workspace of the caller."""

    serializer_class = OptOutSerializer
    pagination_class = OptOutPagination
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        opt_outs = scoped(OptOut.objects.select_related("workspace"), user=self.request.user)
        digits = "".join(ch for ch in self.request.query_params.get("phone", "") if ch.isdigit())
        if digits:
            opt_outs = opt_outs.filter(phone__startswith=f"+{digits}")
        return opt_outs

    @extend_schema(parameters=[FORMAT_PARAMETER, PHONE_PARAMETER], responses=FILE_RESPONSES)
    @action(detail=False, methods=["get"])
    def export(self, request):
        """The opt-out list as CSV or XLSX: phone, source, detail, when, workspace."""
        download = optouts_export(
            opt_outs=self.get_queryset(), fmt=request.query_params.get("format", "csv")
        )
        return download_response(download)
