"""REST API for segments (docs/api.md, Segments): /api/v1/segments/ (CRUD of saved rules),
`GET /api/v1/segments/{id}/preview/` (the count and the first contacts, evaluated now) and
`POST /api/v1/segments/preview/` (the same for unsaved rules: the dashboard's live count).
Thin: campaigns/audiences/segments.py. Any member of the workspace may manage its segments;
a malformed rule is a 400 `{"rules": ["all[3].value: …"]}` (audiences/rules.py)."""

import uuid

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.selectors import get_scoped_or_404, scoped

from .api_contacts import _workspace_param
from .audiences.segments import segment_create, segment_delete, segment_preview, segment_update
from .models import Contact, Segment

PREVIEW_LIMIT_MAX = 100


class SegmentSerializer(serializers.ModelSerializer):
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)

    class Meta:
        model = Segment
        fields = ["id", "workspace", "name", "rules", "created_at", "updated_at"]
        read_only_fields = ["id", "workspace", "created_at", "updated_at"]


class SegmentWriteSerializer(serializers.Serializer):
    workspace = serializers.UUIDField(required=False)
    name = serializers.CharField(max_length=200, required=False)
    rules = serializers.JSONField(required=False)


class PreviewRequestSerializer(serializers.Serializer):
    workspace = serializers.UUIDField(required=False)
    rules = serializers.JSONField()


class PreviewContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "phone", "name", "tags", "attributes", "created_at"]
        read_only_fields = fields


PREVIEW = inline_serializer(
    "SegmentPreview",
    {
        "count": serializers.IntegerField(),
        "contacts": PreviewContactSerializer(many=True),
        "rules": serializers.JSONField(help_text="The rules in normal form."),
    },
)
LIMIT = OpenApiParameter(
    "limit", int, description=f"First contacts shown (default 20, at most {PREVIEW_LIMIT_MAX})."
)


def _limit(request) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= PREVIEW_LIMIT_MAX:
        raise ValidationError({"limit": [f"A whole number from 1 to {PREVIEW_LIMIT_MAX}."]})
    return int(raw)


def _preview_response(preview: dict) -> Response:
    return Response(
        {
            "count": preview["count"],
            "contacts": PreviewContactSerializer(preview["contacts"], many=True).data,
            "rules": preview["rules"],
        }
    )


class SegmentViewSet(viewsets.GenericViewSet):
    serializer_class = SegmentSerializer
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        return scoped(Segment.objects.all(), user=self.request.user).order_by("name", "id")

    def get_object(self) -> Segment:
        try:
            segment_id = uuid.UUID(self.kwargs["pk"])
        except ValueError:
            raise Http404 from None
        return get_scoped_or_404(Segment.objects.all(), user=self.request.user, pk=segment_id)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SegmentSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(SegmentSerializer(self.get_object()).data)

    @extend_schema(request=SegmentWriteSerializer, responses={201: SegmentSerializer})
    def create(self, request):
        body = SegmentWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        missing = {k: ["This field is required."] for k in ("name", "rules") if k not in data}
        if missing:
            raise ValidationError(missing)
        segment = segment_create(
            workspace=_workspace_param(request), name=data["name"], rules=data["rules"]
        )
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SegmentWriteSerializer, responses=SegmentSerializer)
    def partial_update(self, request, pk=None):
        segment = self.get_object()
        body = SegmentWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if "workspace" in data:
            raise ValidationError({"workspace": ["A segment stays in its workspace."]})
        segment = segment_update(segment=segment, name=data.get("name"), rules=data.get("rules"))
        return Response(SegmentSerializer(segment).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        segment_delete(segment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[LIMIT], responses=PREVIEW)
    @action(detail=True, methods=["get"], url_path="preview", url_name="preview")
    def preview(self, request, pk=None):
        """How many contacts the saved rules match now, and the newest of them. A list or a
        campaign deleted since the segment was saved matches nothing."""
        segment = self.get_object()
        preview = segment_preview(
            workspace_id=segment.workspace_id,
            rules=segment.rules,
            limit=_limit(request),
            check_references=False,
        )
        return _preview_response(preview)

    @extend_schema(parameters=[LIMIT], request=PreviewRequestSerializer, responses=PREVIEW)
    @action(detail=False, methods=["post"], url_path="preview", url_name="preview-rules")
    def preview_rules(self, request):
        """The same for rules not saved (the dashboard's live count)."""
        body = PreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workspace = _workspace_param(request)
        preview = segment_preview(
            workspace_id=workspace.pk, rules=body.validated_data["rules"], limit=_limit(request)
        )
        return _preview_response(preview)
