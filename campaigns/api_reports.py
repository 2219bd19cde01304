"""What a campaign's API gives back: its export (CSV/XLSX of every recipient) and its stats
(funnel, timeline, failure reasons, deferred recipients). Mixed into CampaignViewSet."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .exports import FORMATS, Download, parse_statuses, recipients_export
from .models import Recipient
from .selectors import campaign_stats
from .serializers import CampaignStatsSerializer

STATUS_PARAMETER = OpenApiParameter(
    "status",
    str,
    description=(
        "Only recipients in these states, comma separated: "
        + ", ".join(Recipient.Status.values)
        + ". All when omitted."
    ),
)
FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=list(FORMATS), description="csv (the default) or xlsx"
)
FILE_RESPONSES = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="A CSV file (UTF-8)."),
    (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
        OpenApiTypes.BINARY, description="An XLSX file."
    ),
}


def download_response(download: Download) -> StreamingHttpResponse:
    response = StreamingHttpResponse(download.chunks, content_type=download.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    # Rows leave as they are read; a proxy that buffers whole responses would hold them.
    response["X-Accel-Buffering"] = "no"
    response["Cache-Control"] = "no-store"
    return response


def since_param(request) -> object:
    raw = request.query_params.get("since")
    if raw is None or raw == "":
        return None
    try:
        parsed = parse_datetime(raw.strip())
    except ValueError:  # well formed, but no such time
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        raise ValidationError(
            {"since": ["An ISO 8601 time with a time zone, e.g. 2026-12-01T09:00:00Z."]}
        )
    return parsed


class ReportActions:
    """Mixed into CampaignViewSet (which provides get_object)."""

    @extend_schema(
        parameters=[STATUS_PARAMETER, FORMAT_PARAMETER],
        responses=FILE_RESPONSES,
        description=(
            "Every recipient of the campaign (or those in `status`), in import order: phone, "
            "one column per template variable, status, times (UTC), wamid and Meta's error "
            "code and reason. Streamed: a million rows start arriving at once. A CSV cell "
            "that begins with = + - @, a tab or a carriage return is prefixed with an "
            "apostrophe so that spreadsheets show it as text; XLSX cells are typed as text."
        ),
    )
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        campaign = self.get_object()
        statuses = parse_statuses(request.query_params.get("status"), Recipient.Status.values)
        download = recipients_export(
            campaign=campaign, statuses=statuses, fmt=request.query_params.get("format", "csv")
        )
        return download_response(download)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Only timeline minutes from this time on (for polling).",
            )
        ],
        responses=CampaignStatsSerializer,
    )
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        """The funnel (counts and rates), the per-minute timeline, failure reasons grouped by
        Meta's error code, and the recipients waiting for a later attempt."""
        campaign = self.get_object()
        stats = campaign_stats(campaign, since=since_param(request))
        return Response(CampaignStatsSerializer(stats).data)
