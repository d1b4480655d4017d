"""A user's direct permission grants (admin/users/<id>/permissions)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.lookups import existing
from identity.api.permissions import ManagePermissions
from identity.models import Permission, PermissionGrant, User
from identity.services import grants
from identity_project.serializers import StrictSerializer


class GrantOutputSerializer(serializers.ModelSerializer):
    permission_id = serializers.UUIDField()
    codename = serializers.CharField(source="permission.codename")
    granted_by = serializers.UUIDField(source="granted_by_id", allow_null=True)

    class Meta:
        model = PermissionGrant
        fields = ("permission_id", "codename", "expires_at", "granted_by", "created_at")


class UserPermissionsApi(APIView):
    permission_classes = [ManagePermissions]

    class InputSerializer(StrictSerializer):
        permission_id = serializers.PrimaryKeyRelatedField(
            queryset=Permission.objects.all(), source="permission"
        )
        expires_at = serializers.DateTimeField(allow_null=True, required=False)

    @extend_schema(responses=GrantOutputSerializer(many=True))
    def get(self, request, user_id):
        user = existing(User, user_id, "user")
        found = (
            PermissionGrant.objects.filter(user=user)
            .select_related("permission")
            .order_by("permission__codename")
        )
        return Response(GrantOutputSerializer(found, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: GrantOutputSerializer})
    def post(self, request, user_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = grants.permission_grant(
            user=existing(User, user_id, "user"),
            permission=data.validated_data["permission"],
            expires_at=data.validated_data.get("expires_at"),
            granted_by=request.user,
        )
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class UserPermissionDeleteApi(APIView):
    permission_classes = [ManagePermissions]

    @extend_schema(responses={204: None})
    def delete(self, request, user_id, permission_id):
        grants.permission_revoke(
            user=existing(User, user_id, "user"), permission=existing(Permission, permission_id, "permission")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
