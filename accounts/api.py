"""API views for the caller's own identity and workspaces."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .api_examples import ME_EXAMPLES
from .models import Membership


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
