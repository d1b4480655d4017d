"""The browsers and apps of the signed-in user (me/devices): names, trust, revocation."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.reauthentication import REAUTHENTICATION_REQUIRED, RecentlyAuthenticated
from identity.models import Device
from identity.services import devices
from identity_project.serializers import StrictSerializer


class DeviceOutputSerializer(serializers.ModelSerializer):
    device_id = serializers.UUIDField(source="id")
    trusted = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = (
            "device_id",
            "name",
            "user_agent",
            "trusted",
            "trusted_until",
            "first_seen_at",
            "last_seen_at",
        )

    def get_trusted(self, device: Device) -> bool:
        return device.is_trusted()


class MyDeviceListApi(ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = DeviceOutputSerializer

    def get_queryset(self):
        return Device.objects.filter(user=self.request.user, revoked_at__isnull=True).order_by(
            "-last_seen_at"
        )


class MyDeviceApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100, allow_blank=True)

    @extend_schema(request=InputSerializer, responses=DeviceOutputSerializer)
    def patch(self, request, device_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        device = devices.device_rename(
            user=request.user, device_id=device_id, name=data.validated_data["name"]
        )
        return Response(DeviceOutputSerializer(device).data)

    @extend_schema(responses={204: None})
    def delete(self, request, device_id):
        devices.device_revoke(user=request.user, device_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyDeviceTrustApi(APIView):
    """Trust a device (no second factor asked there), after a recent sign-in or re-authentication."""

    permission_classes = [IsAuthenticated, RecentlyAuthenticated]

    @extend_schema(request=None, responses={200: DeviceOutputSerializer, 403: REAUTHENTICATION_REQUIRED})
    def post(self, request, device_id):
        return Response(
            DeviceOutputSerializer(devices.device_trust_own(user=request.user, device_id=device_id)).data
        )


class MyDeviceUntrustApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=DeviceOutputSerializer)
    def post(self, request, device_id):
        return Response(
            DeviceOutputSerializer(devices.device_untrust(user=request.user, device_id=device_id)).data
        )
