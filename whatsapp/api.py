"""REST API for WhatsApp connections: /api/v1/whatsapp-accounts/. The services' refusals
(config/errors.py) reach the client through config/api_exceptions.py."""

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import IsWorkspaceOwnerForWrites
from accounts.selectors import default_workspace_for_user, workspaces_for_user
from config.api_schema import FORBIDDEN

from . import services
from .api_examples import (
    ACCOUNT_EXAMPLES,
    CREATE_EXAMPLES,
    IN_USE,
    NO_SUCH_WORKSPACE,
    UPDATE_EXAMPLES,
)
from .crypto import mask
from .models import WhatsAppAccount
from .selectors import account_get_for_user, account_list_for_user


class WhatsAppAccountSerializer(serializers.ModelSerializer):
    """Secrets are write-only: they read back masked (`••••1a2b`)."""

    workspace = serializers.UUIDField(source="workspace_id", required=False)
    access_token = serializers.CharField(max_length=1024, trim_whitespace=True)
    app_secret = serializers.CharField(max_length=256, trim_whitespace=True)
    verify_token = serializers.CharField(
        max_length=256, trim_whitespace=True, required=False, allow_blank=True
    )

    class Meta:
        model = WhatsAppAccount
        fields = [
            "id",
            "workspace",
            *services.EDITABLE_FIELDS,
            *services.STATE_FIELDS,
            *services.RECORDED_FIELDS,
        ]
        read_only_fields = ["id", *services.STATE_FIELDS, *services.RECORDED_FIELDS]
        # Uniqueness is checked by the service, which knows the workspace.
        validators = []
        extra_kwargs = {"phone_number_id": {"validators": []}}

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:  # updates: secrets may be left out to keep them
            for name in services.SECRET_FIELDS:
                fields[name].required = False
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in services.SECRET_FIELDS:
            data[name] = mask(getattr(instance, name))
        return data


@extend_schema_view(
    list=extend_schema(examples=ACCOUNT_EXAMPLES),
    retrieve=extend_schema(examples=ACCOUNT_EXAMPLES),
    create=extend_schema(
        examples=CREATE_EXAMPLES,
        responses={201: WhatsAppAccountSerializer, 403: FORBIDDEN, 404: NO_SUCH_WORKSPACE},
    ),
    update=extend_schema(
        examples=UPDATE_EXAMPLES, responses={200: WhatsAppAccountSerializer, 403: FORBIDDEN}
    ),
    partial_update=extend_schema(
        examples=UPDATE_EXAMPLES, responses={200: WhatsAppAccountSerializer, 403: FORBIDDEN}
    ),
    destroy=extend_schema(responses={204: None, 403: FORBIDDEN, 409: IN_USE}),
)
class WhatsAppAccountViewSet(viewsets.ModelViewSet):
    """Members of the workspace read its connections; only an owner connects, edits or
    deletes one (IsWorkspaceOwnerForWrites)."""

    serializer_class = WhatsAppAccountSerializer
    permission_classes = [IsAuthenticated, IsWorkspaceOwnerForWrites]
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        return account_list_for_user(user=self.request.user)

    def get_object(self):
        account = account_get_for_user(user=self.request.user, account_id=self.kwargs["pk"])
        self.check_object_permissions(self.request, account)
        return account

    def _workspace(self, workspace_id):
        if workspace_id is None:
            workspace = default_workspace_for_user(user=self.request.user)
            if workspace is None:
                raise ValidationError(
                    {"workspace": ["You belong to several workspaces: name one."]}
                )
            return workspace
        workspace = workspaces_for_user(user=self.request.user).filter(id=workspace_id).first()
        if workspace is None:
            raise Http404
        return workspace

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        workspace = self._workspace(data.pop("workspace_id", None))
        result = services.account_create(user=request.user, workspace=workspace, **data)
        return Response(self.get_serializer(result).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        account = self.get_object()
        serializer = self.get_serializer(
            account, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("workspace_id", None)  # a connection does not move between workspaces
        result = services.account_update(user=request.user, account=account, **data)
        return Response(self.get_serializer(result).data)

    def destroy(self, request, *args, **kwargs):
        services.account_delete(user=request.user, account=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
