"""Roles, permissions, user assignments and grants, elevation requests (admin/..., me/elevation-requests)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.errors import NotFound
from identity.models import ElevationRequest, Permission, PermissionGrant, Role, RoleAssignment, User
from identity.services import elevation, grants, roles
from identity_project.permissions import has_permission
from identity_project.serializers import StrictSerializer

ManageRoles = has_permission("identity.manage_roles")
ManagePermissions = has_permission("identity.manage_permissions")
ApproveElevation = has_permission("identity.approve_elevation")


def _get(model, pk, what: str):
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No such {what}.")
    return found


# --- output ---------------------------------------------------------------------------------


class PermissionOutputSerializer(serializers.ModelSerializer):
    permission_id = serializers.UUIDField(source="id")

    class Meta:
        model = Permission
        fields = ("permission_id", "codename", "name", "description", "created_at")


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


class AssignmentOutputSerializer(serializers.ModelSerializer):
    role_id = serializers.UUIDField()
    role = serializers.CharField(source="role.name")
    assigned_by = serializers.UUIDField(source="assigned_by_id", allow_null=True)

    class Meta:
        model = RoleAssignment
        fields = ("role_id", "role", "expires_at", "assigned_by", "created_at")


class GrantOutputSerializer(serializers.ModelSerializer):
    permission_id = serializers.UUIDField()
    codename = serializers.CharField(source="permission.codename")
    granted_by = serializers.UUIDField(source="granted_by_id", allow_null=True)

    class Meta:
        model = PermissionGrant
        fields = ("permission_id", "codename", "expires_at", "granted_by", "created_at")


class ElevationOutputSerializer(serializers.ModelSerializer):
    request_id = serializers.UUIDField(source="id")
    user_id = serializers.UUIDField()
    permission = serializers.CharField(source="permission.codename")
    decided_by = serializers.UUIDField(source="decided_by_id", allow_null=True)

    class Meta:
        model = ElevationRequest
        fields = (
            "request_id", "user_id", "permission", "justification", "duration_seconds", "status",
            "decided_by", "decided_at", "reason", "created_at",
        )  # fmt: skip


# --- roles ----------------------------------------------------------------------------------


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
        return Response(RoleOutputSerializer(_get(Role, role_id, "role")).data)

    @extend_schema(request=RoleInputSerializer, responses=RoleOutputSerializer)
    def patch(self, request, role_id):
        data = RoleInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        role = roles.role_update(role=_get(Role, role_id, "role"), fields=data.validated_data)
        return Response(RoleOutputSerializer(role).data)

    @extend_schema(responses={204: None})
    def delete(self, request, role_id):
        roles.role_delete(role=_get(Role, role_id, "role"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoleCloneApi(APIView):
    permission_classes = [ManageRoles]

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100)

    @extend_schema(request=InputSerializer, responses={201: RoleOutputSerializer})
    def post(self, request, role_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clone = roles.role_clone(role=_get(Role, role_id, "role"), name=data.validated_data["name"])
        return Response(RoleOutputSerializer(clone).data, status=status.HTTP_201_CREATED)


class PermissionRefSerializer(StrictSerializer):
    permission = serializers.SlugRelatedField(queryset=Permission.objects.all(), slug_field="codename")


class RolePermissionsApi(APIView):
    permission_classes = [ManageRoles]

    @extend_schema(responses=PermissionOutputSerializer(many=True))
    def get(self, request, role_id):
        return Response(
            PermissionOutputSerializer(_get(Role, role_id, "role").permissions.all(), many=True).data
        )

    @extend_schema(request=PermissionRefSerializer, responses={201: PermissionOutputSerializer})
    def post(self, request, role_id):
        data = PermissionRefSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        roles.role_grant_permission(
            role=_get(Role, role_id, "role"), permission=data.validated_data["permission"]
        )
        return Response(PermissionOutputSerializer(data.validated_data["permission"]).data, status=201)


class RolePermissionDeleteApi(APIView):
    permission_classes = [ManageRoles]

    @extend_schema(responses={204: None})
    def delete(self, request, role_id, permission_id):
        roles.role_revoke_permission(
            role=_get(Role, role_id, "role"), permission=_get(Permission, permission_id, "permission")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- permissions ----------------------------------------------------------------------------


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
        return Response(PermissionOutputSerializer(_get(Permission, permission_id, "permission")).data)

    @extend_schema(request=PermissionInputSerializer, responses=PermissionOutputSerializer)
    def patch(self, request, permission_id):
        data = PermissionInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        permission = grants.permission_update(
            permission=_get(Permission, permission_id, "permission"), fields=data.validated_data
        )
        return Response(PermissionOutputSerializer(permission).data)

    @extend_schema(responses={204: None})
    def delete(self, request, permission_id):
        grants.permission_delete(permission=_get(Permission, permission_id, "permission"))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- a user's roles and grants --------------------------------------------------------------


class UserRolesApi(APIView):
    permission_classes = [ManageRoles]

    class InputSerializer(StrictSerializer):
        role_id = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all(), source="role")
        expires_at = serializers.DateTimeField(allow_null=True, required=False)

    @extend_schema(responses=AssignmentOutputSerializer(many=True))
    def get(self, request, user_id):
        user = _get(User, user_id, "user")
        assignments = RoleAssignment.objects.filter(user=user).select_related("role").order_by("role__name")
        return Response(AssignmentOutputSerializer(assignments, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: AssignmentOutputSerializer})
    def post(self, request, user_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = roles.role_assign(
            user=_get(User, user_id, "user"),
            role=data.validated_data["role"],
            expires_at=data.validated_data.get("expires_at"),
            assigned_by=request.user,
        )
        return Response(AssignmentOutputSerializer(assignment).data, status=status.HTTP_201_CREATED)


class UserRoleDeleteApi(APIView):
    permission_classes = [ManageRoles]

    @extend_schema(responses={204: None})
    def delete(self, request, user_id, role_id):
        roles.role_unassign(user=_get(User, user_id, "user"), role=_get(Role, role_id, "role"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserPermissionsApi(APIView):
    permission_classes = [ManagePermissions]

    class InputSerializer(StrictSerializer):
        permission_id = serializers.PrimaryKeyRelatedField(
            queryset=Permission.objects.all(), source="permission"
        )
        expires_at = serializers.DateTimeField(allow_null=True, required=False)

    @extend_schema(responses=GrantOutputSerializer(many=True))
    def get(self, request, user_id):
        user = _get(User, user_id, "user")
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
            user=_get(User, user_id, "user"),
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
            user=_get(User, user_id, "user"), permission=_get(Permission, permission_id, "permission")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- elevation ------------------------------------------------------------------------------


class MyElevationRequestApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictSerializer):
        permission = serializers.CharField(max_length=100)
        justification = serializers.CharField(max_length=2000)
        duration_seconds = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={201: ElevationOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = elevation.elevation_request(
            user=request.user,
            codename=data.validated_data["permission"],
            justification=data.validated_data["justification"],
            duration_seconds=data.validated_data["duration_seconds"],
        )
        return Response(ElevationOutputSerializer(made).data, status=status.HTTP_201_CREATED)


class ElevationListApi(ListAPIView):
    """Pending first (?status= to filter)."""

    permission_classes = [ApproveElevation]
    serializer_class = ElevationOutputSerializer

    def get_queryset(self):
        found = ElevationRequest.objects.select_related("permission").order_by("-created_at")
        if state := self.request.query_params.get("status"):
            found = found.filter(status=state)
        return found


class ElevationApproveApi(APIView):
    permission_classes = [ApproveElevation]

    @extend_schema(request=None, responses=ElevationOutputSerializer)
    def post(self, request, request_id):
        return Response(
            ElevationOutputSerializer(
                elevation.elevation_approve(request_id=request_id, approver=request.user)
            ).data
        )


class ElevationDenyApi(APIView):
    permission_classes = [ApproveElevation]

    class InputSerializer(StrictSerializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=InputSerializer, responses=ElevationOutputSerializer)
    def post(self, request, request_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        denied = elevation.elevation_deny(
            request_id=request_id, approver=request.user, reason=data.validated_data["reason"]
        )
        return Response(ElevationOutputSerializer(denied).data)
