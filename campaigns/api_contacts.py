"""REST API for a workspace's contacts (docs/api.md, Contacts): /api/v1/contacts/ (list,
create, retrieve, patch, delete = erase), their import, its reports and the export. Thin: the
services are in campaigns/audiences/. Any member of the workspace may manage its contacts."""

import uuid
from datetime import UTC

from django.http import Http404, StreamingHttpResponse
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.selectors import get_scoped_or_404, scoped
from config.pagination import StrictPageSize

from .api import _flag
from .api_reports import FILE_RESPONSES, FORMAT_PARAMETER, download_response
from .audiences.contact_erase import contact_erase
from .audiences.contact_export import contacts_export
from .audiences.contact_import import PROBLEM_COLUMNS, contact_import_progress
from .audiences.contact_uploads import contacts_import_records, contacts_import_upload
from .audiences.contacts import (
    SUBSCRIPTIONS,
    contact_create,
    contact_get_for_user,
    contact_list,
    contact_update,
    contact_workspace_for_user,
    subscription_of,
)
from .exports import csv_stream
from .models import Contact, ContactImport, ContactList


class ContactSerializer(serializers.ModelSerializer):
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)
    subscription = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "workspace",
            "phone",
            "name",
            "tags",
            "attributes",
            "locale",
            "time_zone",
            "subscription",
            "created_at",
            "updated_at",
            "last_messaged_at",
            "last_replied_at",
        ]
        read_only_fields = fields

    def get_subscription(self, obj) -> dict:
        """{"state": "opted_in" | "opted_out", "source": …, "at": …} from the opt-out list."""
        return subscription_of(obj)


class ContactWriteSerializer(serializers.Serializer):
    """Shapes only; the service checks the values (contact_fields.py)."""

    workspace = serializers.UUIDField(required=False)
    phone = serializers.CharField(max_length=40, required=False)
    country_code = serializers.CharField(max_length=8, required=False, allow_blank=True)
    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    tags = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)
    attributes = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False)
    locale = serializers.CharField(required=False, allow_blank=True)
    time_zone = serializers.CharField(required=False, allow_blank=True)
    subscription = serializers.ChoiceField(choices=SUBSCRIPTIONS, required=False)


class ContactImportSerializer(serializers.ModelSerializer):
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)
    contact_list = serializers.UUIDField(source="contact_list_id", read_only=True, allow_null=True)
    # Text, not an enum in the schema: the same four values as a recipient import's status,
    # which an enum here would collide with by name.
    status = serializers.CharField(read_only=True, help_text="queued, running, completed or failed")
    mode = serializers.CharField(read_only=True, help_text="upsert or add_only")
    rejected_rows = serializers.ListField(source="rejected_sample", read_only=True)
    url = serializers.SerializerMethodField()
    rejections_url = serializers.SerializerMethodField()
    progress_rows = serializers.SerializerMethodField()

    class Meta:
        model = ContactImport
        fields = [
            "id",
            "workspace",
            "contact_list",
            "status",
            "source",
            "file_name",
            "file_size",
            "mode",
            "dry_run",
            "error",
            "rows_read",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "skipped_duplicate",
            "warnings",
            "rejected_rows",
            "url",
            "rejections_url",
            "progress_rows",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_url(self, obj) -> str | None:
        return None if obj._state.adding else f"/api/v1/contacts/imports/{obj.pk}/"

    def get_rejections_url(self, obj) -> str | None:
        if obj._state.adding or obj.dry_run:
            return None
        return f"/api/v1/contacts/imports/{obj.pk}/rejections/"

    def get_progress_rows(self, obj) -> int | None:
        return self.context.get("progress_rows")


class ContactPagination(StrictPageSize, CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _time_param(request, name: str):
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationError({name: ["An ISO 8601 time with its offset, e.g. 2026-05-01T00:00Z."]})
    return value.astimezone(UTC)  # PostgreSQL refuses offsets beyond ±15:59; Python does not


def _list_or_400(user, raw) -> ContactList | None:
    if raw in (None, ""):
        return None
    try:
        return get_scoped_or_404(ContactList.objects.all(), user=user, pk=uuid.UUID(str(raw)))
    except (ValueError, Http404):
        raise ValidationError({"list": ["Unknown list."]}) from None


def contact_import_response(request, *, workspace, contact_list=None) -> Response:
    """The import's API answer, for `POST /api/v1/contacts/import/` and any endpoint that
    imports contacts (a list's members: pass `contact_list`). Reads `file` (CSV/XLSX) or a
    JSON list (the body, or `{"contacts": [...]}`), `mode` and `dry_run` (query or form);
    answers 200 (dry run), 201 (imported) or 202 (a large file, queued: poll `url`)."""
    dry_run = _flag("dry_run", request.query_params, request.data)
    data = request.data if hasattr(request.data, "get") else {}
    mode = request.query_params.get("mode") or data.get("mode") or ContactImport.Mode.UPSERT
    options = {"workspace": workspace, "mode": mode, "dry_run": dry_run}
    upload = request.FILES.get("file")
    if upload is not None:
        report = contacts_import_upload(
            user=request.user, upload=upload, contact_list=contact_list, **options
        )
    else:
        records = request.data
        if isinstance(records, dict):
            records = records.get("contacts")
        if not isinstance(records, list) or not records:
            raise ValidationError(
                {"file": ["Send a CSV/XLSX as multipart field `file`, or a JSON list of contacts."]}
            )
        report = contacts_import_records(
            user=request.user, records=records, contact_list=contact_list, **options
        )
    if report.status == ContactImport.Status.QUEUED:
        code = status.HTTP_202_ACCEPTED
    else:
        code = status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED
    return Response(ContactImportSerializer(report).data, status=code)


def _workspace_param(request):
    data = request.data if hasattr(request.data, "get") else {}
    raw = request.query_params.get("workspace") or data.get("workspace")
    try:
        return contact_workspace_for_user(user=request.user, workspace_id=raw)
    except (ValueError, Http404):
        raise ValidationError({"workspace": ["Unknown workspace."]}) from None


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="A name containing it, or a phone with its digits."),
    OpenApiParameter("tag", str, description="Contacts with this tag."),
    OpenApiParameter("attribute", str, description="`key:value`: that attribute, as text."),
    OpenApiParameter("opted_out", bool, description="Only opted-out (true) or opted-in (false)."),
    OpenApiParameter("last_messaged_before", OpenApiTypes.DATETIME),
    OpenApiParameter("last_messaged_after", OpenApiTypes.DATETIME),
    OpenApiParameter("workspace", OpenApiTypes.UUID),
]
IMPORT_PARAMETERS = [
    OpenApiParameter("mode", str, enum=list(ContactImport.Mode.values)),
    OpenApiParameter("dry_run", bool),
    OpenApiParameter("list", OpenApiTypes.UUID, description="Imported contacts join this list."),
    OpenApiParameter("workspace", OpenApiTypes.UUID),
]


class ContactViewSet(viewsets.GenericViewSet):
    serializer_class = ContactSerializer
    pagination_class = ContactPagination
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        params = self.request.query_params
        attribute = None
        if params.get("attribute"):
            key, sep, value = params["attribute"].partition(":")
            if not sep or not key.strip():
                raise ValidationError({"attribute": ["Give it as key:value, e.g. city:Pune."]})
            attribute = (key.strip().lower(), value)
        opted_out = None
        if params.get("opted_out") not in (None, ""):
            opted_out = _flag("opted_out", params)
        workspace_id = None
        if params.get("workspace"):
            try:
                workspace_id = uuid.UUID(params["workspace"])
            except ValueError:
                raise ValidationError({"workspace": ["Unknown workspace."]}) from None
        return contact_list(
            user=self.request.user,
            workspace_id=workspace_id,
            search=params.get("q", "")[:100],
            tag=params.get("tag", "")[:64],
            attribute=attribute,
            opted_out=opted_out,
            messaged_before=_time_param(self.request, "last_messaged_before"),
            messaged_after=_time_param(self.request, "last_messaged_after"),
        )

    def get_object(self):
        return contact_get_for_user(user=self.request.user, contact_id=self.kwargs["pk"])

    @extend_schema(parameters=LIST_PARAMETERS)
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ContactSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(ContactSerializer(self.get_object()).data)

    @extend_schema(request=ContactWriteSerializer, responses={201: ContactSerializer})
    def create(self, request):
        body = ContactWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if not data.get("phone"):
            raise ValidationError({"phone": ["This field is required."]})
        data.pop("workspace", None)
        subscription = data.pop("subscription", None)
        contact = contact_create(user=request.user, workspace=_workspace_param(request), **data)
        if subscription is not None:
            contact = contact_update(user=request.user, contact=contact, subscription=subscription)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContactWriteSerializer, responses=ContactSerializer)
    def partial_update(self, request, pk=None):
        contact = self.get_object()
        body = ContactWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        for fixed in ("phone", "country_code", "workspace"):
            if fixed in data:
                raise ValidationError(
                    {
                        fixed: [
                            "A contact's number and workspace cannot change: erase it and "
                            "create another."
                        ]
                    }
                )
        contact = contact_update(user=request.user, contact=contact, **data)
        return Response(ContactSerializer(contact).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Erase the person: the contact, its memberships, their values in every campaign of
        the workspace (docs/audiences.md §7). The opt-out entry, if any, stays."""
        contact_erase(user=request.user, contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=IMPORT_PARAMETERS,
        request={
            "multipart/form-data": OpenApiTypes.OBJECT,
            "application/json": OpenApiTypes.OBJECT,
        },
        responses={
            200: ContactImportSerializer,
            201: ContactImportSerializer,
            202: ContactImportSerializer,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def import_file(self, request):
        """Import contacts from a CSV/XLSX (`file`) or a JSON list; upsert by phone."""
        data = request.data if hasattr(request.data, "get") else {}
        contact_list = _list_or_400(
            request.user, request.query_params.get("list") or data.get("list")
        )
        workspace = contact_list.workspace if contact_list else _workspace_param(request)
        return contact_import_response(request, workspace=workspace, contact_list=contact_list)

    @extend_schema(responses=ContactImportSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def imports(self, request):
        """The latest 100 contact imports of the caller's workspaces."""
        reports = _reports(request.user).order_by("-created_at")[:100]
        return Response(ContactImportSerializer(reports, many=True).data)

    @extend_schema(responses=ContactImportSerializer)
    @action(detail=False, methods=["get"], url_path=r"imports/(?P<report_id>[0-9a-fA-F-]{36})")
    def import_detail(self, request, report_id=None):
        """One import report; while it runs, the figures so far and `progress_rows`."""
        report = _report_or_404(request.user, report_id)
        if report.status not in (ContactImport.Status.QUEUED, ContactImport.Status.RUNNING):
            return Response(ContactImportSerializer(report).data)
        snapshot = contact_import_progress(report.pk) or {}
        data = ContactImportSerializer(
            report, context={"progress_rows": snapshot.get("rows_read", 0)}
        ).data
        data.update({k: v for k, v in snapshot.items() if k in data and k != "rows_read"})
        return Response(data)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(
        detail=False,
        methods=["get"],
        url_path=r"imports/(?P<report_id>[0-9a-fA-F-]{36})/rejections",
    )
    def import_rejections(self, request, report_id=None):
        """Every rejected or skipped row of an import, as CSV (line, kind, column, reason,
        value)."""
        report = _report_or_404(request.user, report_id)
        rows = (
            (line, "skipped" if reason.startswith("duplicate of") else "rejected", col, reason, v)
            for line, col, reason, v in report.rejections.order_by("line", "id")
            .values_list("line", "column", "reason", "value")
            .iterator(chunk_size=5000)
        )
        response = StreamingHttpResponse(
            csv_stream(PROBLEM_COLUMNS, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="contacts_import_{report.pk}.csv"'
        return response

    @extend_schema(parameters=[FORMAT_PARAMETER, *LIST_PARAMETERS], responses=FILE_RESPONSES)
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        """The contacts (with the list's filters) as CSV or XLSX, columns an import reads."""
        download = contacts_export(
            contacts=self.get_queryset(), fmt=request.query_params.get("format", "csv")
        )
        return download_response(download)


def _reports(user):
    return scoped(ContactImport.objects.all(), user=user)


def _report_or_404(user, report_id) -> ContactImport:
    try:
        pk = uuid.UUID(str(report_id))
    except ValueError:
        raise Http404 from None
    report = _reports(user).filter(pk=pk).first()
    if report is None:
        raise Http404
    return report
