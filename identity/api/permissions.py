"""Permissions (admin/permissions): the codenames that roles bundle and users are granted."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.lookups import existing
from identity.models import Permission
from identity.services import grants
from identity_project.permissions import has_permission
from identity_project.serializers import StrictSerializer

ManagePermissions = has_permission("identity.manage_permissions")


class PermissionOutputSerializer(serializers.ModelSerializer):
    permission_id = serializers.UUIDField(source="id")

    class Meta:
        model = Permission
        fields = ("permission_id", "codename", "name", "description", "created_at")


class PermissionInputSerializer(StrictSerializer):
    codename = serializers.RegexField(r"^[a-z_]+\.[a-z_]+$", max_length=100)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False)


class PermissionListApi(ListAPIView):
    permission_classes = [ManagePermissions]
    serializer_class = PermissionOutputSerializer
    queryset = Permission.objects.order_by("codename")

    @extend_schema(request=PermissionInputSerializer, responses={201: PermissionOutputSerializer})
    def post(self, request):
        data = PermissionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        permission = grants.permission_create(**data.validated_data)
        return Response(PermissionOutputSerializer(permission).data, status=status.HTTP_201_CREATED)


class PermissionDetailApi(APIView):
    permission_classes = [ManagePermissions]

    @extend_schema(responses=PermissionOutputSerializer)
    def get(self, request, permission_id):
        return Response(PermissionOutputSerializer(existing(Permission, permission_id, "permission")).data)

    @extend_schema(request=PermissionInputSerializer, responses=PermissionOutputSerializer)
    def patch(self, request, permission_id):
        data = PermissionInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        permission = grants.permission_update(
            permission=existing(Permission, permission_id, "permission"), fields=data.validated_data
        )
        return Response(PermissionOutputSerializer(permission).data)

    @extend_schema(responses={204: None})
    def delete(self, request, permission_id):
        grants.permission_delete(permission=existing(Permission, permission_id, "permission"))
        return Response(status=status.HTTP_204_NO_CONTENT)
