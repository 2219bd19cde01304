"""REST API for static contact lists (docs/api.md, Lists): /api/v1/lists/ (CRUD, read back
with `member_count`) and /api/v1/lists/{id}/members/ (GET the contacts, POST contact ids or a
file to import into the list, DELETE contact ids). Thin: campaigns/audiences/lists.py. Any
member of the workspace may manage its lists."""

import uuid

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from .api_contacts import (
    ContactImportSerializer,
    ContactPagination,
    ContactSerializer,
    _workspace_param,
    contact_import_response,
)
from .audiences.contacts import with_subscription
from .audiences.lists import (
    contact_list_create,
    contact_list_delete,
    contact_list_get_for_user,
    contact_list_update,
    contact_lists_for_user,
    list_members,
    list_members_add,
    list_members_remove,
)
from .models import ContactList


class ContactListSerializer(serializers.ModelSerializer):
    workspace = serializers.UUIDField(source="workspace_id", read_only=True)
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ContactList
        fields = [
            "id",
            "workspace",
            "name",
            "description",
            "member_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "workspace", "member_count", "created_at", "updated_at"]


class ContactListWriteSerializer(serializers.Serializer):
    """Shapes only; the service checks the name (unique in the workspace)."""

    workspace = serializers.UUIDField(required=False)
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class MemberIdsSerializer(serializers.Serializer):
    contacts = serializers.ListField(child=serializers.JSONField(), allow_empty=False)


MEMBERS_CHANGED = inline_serializer(
    "MembersChanged",
    {
        "added": serializers.IntegerField(required=False),
        "removed": serializers.IntegerField(required=False),
        "member_count": serializers.IntegerField(),
    },
)


class ContactListViewSet(viewsets.GenericViewSet):
    serializer_class = ContactListSerializer
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        return contact_lists_for_user(user=self.request.user)

    def get_object(self) -> ContactList:
        try:
            list_id = uuid.UUID(self.kwargs["pk"])
        except ValueError:
            raise Http404 from None
        return contact_list_get_for_user(user=self.request.user, list_id=list_id)

    def _read(self, contact_list: ContactList) -> Response:
        fresh = contact_list_get_for_user(user=self.request.user, list_id=contact_list.pk)
        return Response(ContactListSerializer(fresh).data)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ContactListSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(ContactListSerializer(self.get_object()).data)

    @extend_schema(request=ContactListWriteSerializer, responses={201: ContactListSerializer})
    def create(self, request):
        body = ContactListWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if not data.get("name"):
            raise serializers.ValidationError({"name": ["This field is required."]})
        contact_list = contact_list_create(
            user=request.user,
            workspace=_workspace_param(request),
            name=data["name"],
            description=data.get("description", ""),
        )
        return Response(ContactListSerializer(contact_list).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContactListWriteSerializer, responses=ContactListSerializer)
    def partial_update(self, request, pk=None):
        contact_list = self.get_object()
        body = ContactListWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if "workspace" in data:
            raise serializers.ValidationError({"workspace": ["A list stays in its workspace."]})
        contact_list_update(user=request.user, contact_list=contact_list, **data)
        return self._read(contact_list)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Delete the list and its memberships; its contacts stay."""
        contact_list_delete(user=request.user, contact_list=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=ContactSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request={
            "application/json": MemberIdsSerializer,
            "multipart/form-data": OpenApiTypes.OBJECT,
        },
        responses={
            200: MEMBERS_CHANGED,
            201: ContactImportSerializer,
            202: ContactImportSerializer,
        },
        description=(
            'Add members: `{"contacts": [ids…]}` (contacts of the list\'s workspace), or import '
            "a CSV/XLSX (`file`) or a JSON list of contact objects into the list (the contacts "
            "import, `mode` and `dry_run` as there)."
        ),
    )
    @extend_schema(methods=["DELETE"], request=MemberIdsSerializer, responses=MEMBERS_CHANGED)
    @action(
        detail=True,
        methods=["get", "post", "delete"],
        pagination_class=ContactPagination,
        parser_classes=[JSONParser, MultiPartParser, FormParser],
    )
    def members(self, request, pk=None):
        """The list's contacts, newest first (cursor pages)."""
        contact_list = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(
                with_subscription(list_members(contact_list=contact_list))
            )
            return self.get_paginated_response(ContactSerializer(page, many=True).data)
        if request.method == "POST" and _is_import(request):
            return contact_import_response(
                request, workspace=contact_list.workspace, contact_list=contact_list
            )
        body = MemberIdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data["contacts"]
        if request.method == "POST":
            changed = {
                "added": list_members_add(
                    user=request.user, contact_list=contact_list, contact_ids=ids
                )
            }
        else:
            changed = {
                "removed": list_members_remove(
                    user=request.user, contact_list=contact_list, contact_ids=ids
                )
            }
        count = contact_list_get_for_user(user=request.user, list_id=contact_list.pk).member_count
        return Response({**changed, "member_count": count})


def _is_import(request) -> bool:
    """A file, or contact objects (phone, name…) rather than ids: the contacts import."""
    if request.FILES:
        return True
    data = request.data
    records = data.get("contacts") if isinstance(data, dict) else data
    return isinstance(data, list) or (
        isinstance(records, list) and bool(records) and all(isinstance(r, dict) for r in records)
    )
