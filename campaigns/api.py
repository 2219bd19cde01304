"""REST API for campaigns: /api/v1/campaigns/ and their recipients and imports."""

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.selectors import get_scoped_or_404
from accounts.throttles import SendThrottle
from config.pagination import StrictPageSize
from whatsapp.models import WhatsAppAccount

from . import api_docs as docs
from .api_audience import AudienceActions
from .api_common import template_or_400
from .api_lifecycle import LifecycleActions
from .api_reports import ReportActions
from .exports import csv_stream
from .filters import CampaignFilter
from .importing.pipeline import PROBLEM_COLUMNS, import_progress
from .models import ImportReport
from .selectors import campaign_get_for_user, campaign_list_for_user, recipient_list
from .serializers import (
    RECIPIENT_STATUSES,
    CampaignCreateSerializer,
    CampaignSerializer,
    CampaignUpdateSerializer,
    ImportReportSerializer,
    RecipientQuerySerializer,
    RecipientSerializer,
)
from .services.campaigns import campaign_create, campaign_delete, campaign_update
from .services.imports import import_records, import_upload


class RecipientPagination(StrictPageSize, CursorPagination):
    # Cursor paging: no COUNT(*) over a million-row campaign.
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


def _flag(name: str, *sources) -> bool:
    """A yes/no request parameter, given in any of `sources` (absent: no). Anything but
    true/false/1/0/yes/no (any case) is a 400 naming the parameter, never a silent "no"."""
    result = False
    for source in sources:
        value = source.get(name) if hasattr(source, "get") else None
        if value is None:
            continue
        text = str(value).strip().lower()
        if text not in _TRUE and text not in _FALSE:
            shown = str(value)[:50]
            raise ValidationError(
                {name: [f"{name} must be true or false (or 1/0, yes/no), not {shown!r}."]}
            )
        result = result or text in _TRUE
    return result


@extend_schema_view(
    list=extend_schema(examples=docs.CAMPAIGN_EXAMPLES),
    retrieve=extend_schema(examples=docs.CAMPAIGN_EXAMPLES),
    destroy=extend_schema(responses={204: None, 409: docs.CANNOT_TRANSITION}),
)
class CampaignViewSet(AudienceActions, LifecycleActions, ReportActions, viewsets.ModelViewSet):
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter  # the list's parameters: status, template, ordering…
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return campaign_list_for_user(user=self.request.user)

    def get_object(self):
        return campaign_get_for_user(user=self.request.user, campaign_id=self.kwargs["pk"])

    @extend_schema(
        request=CampaignCreateSerializer,
        responses={201: CampaignSerializer},
        examples=docs.CREATE_EXAMPLES,
    )
    def create(self, request, *args, **kwargs):
        body = CampaignCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data  # a `user_id` in the body is ignored: the token decides
        account = None
        if data.get("account"):
            try:
                account = get_scoped_or_404(
                    WhatsAppAccount.objects.all(), user=request.user, id=data["account"]
                )
            except Http404:
                raise ValidationError({"account": ["Unknown WhatsApp account."]}) from None
        campaign, report = campaign_create(
            user=request.user,
            name=data["name"],
            template=template_or_400(request.user, data["template_id"]),
            account=account,
            recipients=data.get("recipients") or None,  # [] is no list: an empty draft
            worker_count=data.get("worker_count"),
            rate_limit=data.get("rate_limit"),
            breaker=data.get("breaker"),
            marketing_policy=data.get("marketing_policy"),
            message_activity_sharing=data.get("message_activity_sharing"),
            offer_expires_at=data.get("offer_expires_at"),
            audience=data.get("audience"),
            mapping=data.get("mapping"),
            numbers=data.get("numbers"),
        )
        campaign.refresh_from_db()
        body = CampaignSerializer(campaign).data
        if report is not None:
            body["import"] = ImportReportSerializer(report).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CampaignUpdateSerializer,
        responses={200: CampaignSerializer, 409: docs.CANNOT_TRANSITION},
        examples=docs.UPDATE_EXAMPLES,
    )
    def partial_update(self, request, *args, **kwargs):
        campaign = self.get_object()
        body = CampaignUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if "template_id" in data:
            data["template"] = template_or_400(request.user, data.pop("template_id"))
        campaign = campaign_update(user=request.user, campaign=campaign, **data)
        return Response(CampaignSerializer(campaign).data)

    def destroy(self, request, *args, **kwargs):
        campaign_delete(user=request.user, campaign=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter(
                "status",
                str,
                description=f"Comma separated (`failed,skipped`): {RECIPIENT_STATUSES}",
            ),
            OpenApiParameter(
                "phone",
                str,
                description=(
                    "A number with its country code, in any format (`+1 415-555-0100`, "
                    "`0014155550100`): that recipient. Fewer digits (`+1415`): the numbers "
                    "starting with them."
                ),
            ),
            OpenApiParameter("wamid", str, description="WhatsApp's message id: that recipient."),
        ],
        responses=RecipientSerializer(many=True),
        examples=docs.RECIPIENT_EXAMPLES,
    )
    @extend_schema(
        methods=["POST"],
        parameters=[OpenApiParameter("dry_run", bool)],
        request={
            "multipart/form-data": OpenApiTypes.OBJECT,
            "application/json": OpenApiTypes.OBJECT,
        },
        responses={
            200: ImportReportSerializer,
            201: ImportReportSerializer,
            202: ImportReportSerializer,
            409: docs.IMPORT_NOT_ALLOWED,
            413: docs.FILE_TOO_LARGE,
        },
        examples=docs.IMPORT_EXAMPLES,
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, FormParser, JSONParser],
        pagination_class=RecipientPagination,
        filter_backends=[],  # the list's filters are not the recipients'
        throttle_classes=[SendThrottle],  # POSTs only
    )
    def recipients(self, request, pk=None):
        """GET: the campaign's recipients (`?status=`, `?phone=`, `?wamid=`). POST: import a
        CSV/XLSX (`file`) or a JSON list (the body itself, or `{"recipients": [...]}`);
        `dry_run=true` validates and reports without storing anything."""
        campaign = self.get_object()
        if request.method == "GET":
            return self._recipient_list(request, campaign)
        dry_run = _flag("dry_run", request.query_params, request.data)
        upload = request.FILES.get("file")
        if upload is not None:
            report = import_upload(
                campaign=campaign,
                user=request.user,
                upload=upload,
                dry_run=dry_run,
            )
        else:
            records = request.data
            if isinstance(records, dict):
                records = records.get("recipients")
            if not isinstance(records, list):
                raise ValidationError(
                    {"file": ["Send a CSV/XLSX as multipart field `file`, or a JSON list."]}
                )
            report = import_records(
                campaign=campaign,
                user=request.user,
                records=records,
                dry_run=dry_run,
            )
        if report.status == ImportReport.Status.QUEUED:
            code = status.HTTP_202_ACCEPTED
        else:
            code = status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED
        return Response(ImportReportSerializer(report).data, status=code)

    def _recipient_list(self, request, campaign):
        params = request.query_params
        query = RecipientQuerySerializer(
            data={
                "status": ",".join(params.getlist("status")),  # `status=a,b` or repeated
                "phone": params.get("phone", ""),
                "wamid": params.get("wamid", ""),
            }
        )
        query.is_valid(raise_exception=True)
        qs = recipient_list(
            campaign=campaign,
            statuses=query.validated_data["status"],
            phone=query.validated_data["phone"] or None,
            wamid=query.validated_data["wamid"] or None,
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(RecipientSerializer(page, many=True).data)

    @extend_schema(responses=ImportReportSerializer(many=True), examples=docs.REPORT_EXAMPLES)
    @action(detail=True, methods=["get"], pagination_class=None)
    def imports(self, request, pk=None, report_id=None):
        """The campaign's import reports (the latest 100), or one of them (with live progress
        while running: import_detail)."""
        campaign = self.get_object()
        if report_id is None:
            reports = campaign.imports.all()[:100]
            return Response(ImportReportSerializer(reports, many=True).data)
        report = campaign.imports.filter(pk=report_id).first()
        if report is None:
            raise Http404
        if report.status not in (ImportReport.Status.QUEUED, ImportReport.Status.RUNNING):
            return Response(ImportReportSerializer(report).data)
        # Running: the figures so far, as the import last published them.
        snapshot = import_progress(report.pk) or {}
        data = ImportReportSerializer(
            report, context={"progress_rows": snapshot.get("rows_read", 0)}
        ).data
        data.update({k: v for k, v in snapshot.items() if k in data})
        return Response(data)

    # Its own route (not an optional group in `imports`' url_path) so the schema has it.
    @extend_schema(responses=ImportReportSerializer, examples=docs.REPORT_EXAMPLES)
    @action(detail=True, methods=["get"], url_path=r"imports/(?P<report_id>[0-9a-f-]{36})")
    def import_detail(self, request, pk=None, report_id=None):
        """One import report; while it runs, the figures so far (counts, the first rejected rows
        and messages) and `progress_rows`, the rows read."""
        return self.imports(request, pk=pk, report_id=report_id)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.BINARY}, examples=docs.REJECTIONS_EXAMPLES
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"imports/(?P<report_id>[0-9a-f-]{36})/rejections",
    )
    def import_rejections(self, request, pk=None, report_id=None):
        """Every rejected or skipped row of an import, as CSV."""
        campaign = self.get_object()
        report = campaign.imports.filter(pk=report_id).first()
        if report is None:
            raise Http404
        rows = report.rejections.order_by("line", "id").values_list(*PROBLEM_COLUMNS)
        stream = csv_stream(PROBLEM_COLUMNS, rows.iterator(chunk_size=5000))

        response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="import_{report.pk}_rejections.csv"'
        )
        return response
