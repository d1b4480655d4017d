"""Roles (admin/roles): their fields, clones and the permissions they bundle."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.lookups import existing
from identity.api.permissions import PermissionOutputSerializer
from identity.models import Permission, Role
from identity.services import roles
from identity_project.permissions import has_permission
from identity_project.serializers import StrictSerializer

ManageRoles = has_permission("identity.manage_roles")


class RoleOutputSerializer(serializers.ModelSerializer):
    role_id = serializers.UUIDField(source="id")
    parent_id = serializers.UUIDField(allow_null=True)
    permissions = serializers.SlugRelatedField(many=True, read_only=True, slug_field="codename")

    class Meta:
        model = Role
        fields = (
            "role_id", "name", "description", "parent_id", "is_active", "is_default", "is_privileged",
            "permissions", "created_at",
        )  # fmt: skip


class RoleInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(allow_blank=True, required=False)
    parent_id = serializers.PrimaryKeyRelatedField(
        queryset=Role.objects.all(), allow_null=True, required=False, source="parent"
    )
    is_active = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(required=False)
    is_privileged = serializers.BooleanField(required=False)


class RoleListApi(ListAPIView):
    permission_classes = [ManageRoles]
    serializer_class = RoleOutputSerializer
    queryset = Role.objects.prefetch_related("permissions").order_by("name")

    @extend_schema(request=RoleInputSerializer, responses={201: RoleOutputSerializer})
    def post(self, request):
        data = RoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.pop("is_active", None)
        role = roles.role_create(**fields)
        return Response(RoleOutputSerializer(role).data, status=status.HTTP_201_CREATED)


class RoleDetailApi(APIView):
    permission_classes = [ManageRoles]

    @extend_schema(responses=RoleOutputSerializer)
    def get(self, request, role_id):
        return Response(RoleOutputSerializer(existing(Role, role_id, "role")).data)

    @extend_schema(request=RoleInputSerializer, responses=RoleOutputSerializer)
    def patch(self, request, role_id):
        data = RoleInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        role = roles.role_update(role=existing(Role, role_id, "role"), fields=data.validated_data)
        return Response(RoleOutputSerializer(role).data)

    @extend_schema(responses={204: None})
    def delete(self, request, role_id):
        roles.role_delete(role=existing(Role, role_id, "role"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoleCloneApi(APIView):
    permission_classes = [ManageRoles]

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100)

    @extend_schema(request=InputSerializer, responses={201: RoleOutputSerializer})
    def post(self, request, role_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clone = roles.role_clone(role=existing(Role, role_id, "role"), name=data.validated_data["name"])
        return Response(RoleOutputSerializer(clone).data, status=status.HTTP_201_CREATED)


class PermissionRefSerializer(StrictSerializer):
    permission = serializers.SlugRelatedField(queryset=Permission.objects.all(), slug_field="codename")


class RolePermissionsApi(APIView):
    permission_classes = [ManageRoles]

    @extend_schema(responses=PermissionOutputSerializer(many=True))
    def get(self, request, role_id):
        return Response(
            PermissionOutputSerializer(existing(Role, role_id, "role").permissions.all(), many=True).data
        )

    @extend_schema(request=PermissionRefSerializer, responses={201: PermissionOutputSerializer})
    def post(self, request, role_id):
        data = PermissionRefSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        roles.role_grant_permission(
            role=existing(Role, role_id, "role"), permission=data.validated_data["permission"]
        )
        return Response(PermissionOutputSerializer(data.validated_data["permission"]).data, status=201)


class RolePermissionDeleteApi(APIView):
    permission_classes = [ManageRoles]

    @extend_schema(responses={204: None})
    def delete(self, request, role_id, permission_id):
        roles.role_revoke_permission(
            role=existing(Role, role_id, "role"), permission=existing(Permission, permission_id, "permission")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
