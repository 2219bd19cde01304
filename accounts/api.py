"""API views for the caller's own identity and workspaces, and the JWT token endpoints."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from .api_examples import ME_EXAMPLES
from .models import Membership, Workspace
from .selectors import get_scoped_or_404, workspaces_for_user
from .services import workspace_frequency_cap_set
from .throttles import TokenThrottle


class TokenObtainPairView(jwt_views.TokenObtainPairView):
    """A username and password for an access and a refresh token (throttled per client IP)."""

    throttle_classes = [TokenThrottle]


class TokenRefreshView(jwt_views.TokenRefreshView):
    """A refresh token for a new access token (throttled per client IP)."""

    throttle_classes = [TokenThrottle]


class MembershipSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="workspace.id")
    name = serializers.CharField(source="workspace.name")

    class Meta:
        model = Membership
        fields = ["id", "name", "role"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    workspaces = MembershipSerializer(many=True)


class MeView(APIView):
    """Who the token belongs to, and the workspaces it can act in with its role in each
    (accounts/permissions.py says what an owner may do that a member may not)."""

    @extend_schema(responses=MeSerializer, examples=ME_EXAMPLES)
    def get(self, request):
        memberships = Membership.objects.filter(user=request.user).select_related("workspace")
        data = {"username": request.user.get_username(), "workspaces": memberships}
        return Response(MeSerializer(data).data)


class WorkspaceSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = ["id", "name", "role", "frequency_cap"]
        read_only_fields = fields

    def get_role(self, obj) -> str | None:
        return self.context.get("roles", {}).get(obj.pk)


class WorkspaceUpdateSerializer(serializers.Serializer):
    frequency_cap = serializers.JSONField(
        allow_null=True,
        help_text="Marketing (and, if you say so, utility / authentication) messages per phone "
        'number per rolling window, across campaigns: {"marketing": {"messages": 1, '
        '"per_hours": 24}}; messages 1–1000, per_hours 1–720; null: no cap.',
    )


class WorkspaceViewSet(viewsets.GenericViewSet):
    """The caller's workspaces; an owner sets the frequency cap (PATCH). A member gets 403 on
    a write, anyone else 404."""

    serializer_class = WorkspaceSerializer
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    http_method_names = ["get", "patch", "head", "options"]
    pagination_class = None

    def get_queryset(self):
        return workspaces_for_user(user=self.request.user).order_by("name")

    def get_object(self):
        return get_scoped_or_404(
            Workspace.objects.all(), user=self.request.user, field="id", pk=self.kwargs["pk"]
        )

    def _roles(self) -> dict:
        return dict(
            Membership.objects.filter(user=self.request.user).values_list("workspace_id", "role")
        )

    def list(self, request):
        data = WorkspaceSerializer(
            self.get_queryset(), many=True, context={"roles": self._roles()}
        ).data
        return Response(data)

    def retrieve(self, request, pk=None):
        return Response(
            WorkspaceSerializer(self.get_object(), context={"roles": self._roles()}).data
        )

    @extend_schema(request=WorkspaceUpdateSerializer, responses=WorkspaceSerializer)
    def partial_update(self, request, pk=None):
        workspace = self.get_object()
        body = WorkspaceUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workspace = workspace_frequency_cap_set(
            user=request.user,
            workspace=workspace,
            frequency_cap=body.validated_data["frequency_cap"],
        )
        return Response(WorkspaceSerializer(workspace, context={"roles": self._roles()}).data)
