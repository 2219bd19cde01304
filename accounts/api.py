"""API views for the caller's own identity and workspaces, and the JWT token endpoints."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from .api_examples import ME_EXAMPLES
from .models import Membership
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
