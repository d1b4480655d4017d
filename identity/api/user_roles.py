"""A user's role assignments (admin/users/<id>/roles)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.lookups import existing
from identity.api.roles import ManageRoles
from identity.models import Role, RoleAssignment, User
from identity.services import roles
from identity_project.serializers import StrictSerializer


class AssignmentOutputSerializer(serializers.ModelSerializer):
    role_id = serializers.UUIDField()
    role = serializers.CharField(source="role.name")
    assigned_by = serializers.UUIDField(source="assigned_by_id", allow_null=True)

    class Meta:
        model = RoleAssignment
        fields = ("role_id", "role", "expires_at", "assigned_by", "created_at")


class UserRolesApi(APIView):
    permission_classes = [ManageRoles]

    class InputSerializer(StrictSerializer):
        role_id = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all(), source="role")
        expires_at = serializers.DateTimeField(allow_null=True, required=False)

    @extend_schema(responses=AssignmentOutputSerializer(many=True))
    def get(self, request, user_id):
        user = existing(User, user_id, "user")
        assignments = RoleAssignment.objects.filter(user=user).select_related("role").order_by("role__name")
        return Response(AssignmentOutputSerializer(assignments, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: AssignmentOutputSerializer})
    def post(self, request, user_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = roles.role_assign(
            user=existing(User, user_id, "user"),
            role=data.validated_data["role"],
            expires_at=data.validated_data.get("expires_at"),
            assigned_by=request.user,
        )
        return Response(AssignmentOutputSerializer(assignment).data, status=status.HTTP_201_CREATED)


class UserRoleDeleteApi(APIView):
    permission_classes = [ManageRoles]

    @extend_schema(responses={204: None})
    def delete(self, request, user_id, role_id):
        roles.role_unassign(user=existing(User, user_id, "user"), role=existing(Role, role_id, "role"))
        return Response(status=status.HTTP_204_NO_CONTENT)
