"""Elevation requests: a user asks for a permission for a while (me/elevation-requests), an
approver decides (admin/elevation-requests)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.models import ElevationRequest
from identity.services import elevation
from identity_project.permissions import has_permission
from identity_project.serializers import StrictSerializer

ApproveElevation = has_permission("identity.approve_elevation")


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
