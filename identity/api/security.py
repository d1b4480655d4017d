"""Second factors and devices of the signed-in user (me/mfa, me/devices); IP rules (admin/ip-rules)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.reauthentication import REAUTHENTICATION_REQUIRED, RecentlyAuthenticated
from identity.api.serializers import credential_field
from identity.models import Device, IPRule, User
from identity.services import devices, ip_rules, mfa, passkey_enrolment, passkeys
from identity_project.permissions import has_permission
from identity_project.serializers import StrictSerializer

ManageIpRules = has_permission("identity.manage_ip_rules")


class MfaDeviceListApi(APIView):
    """Own second factors; POST enrols one (totp answers an otpauth URI, email gets a code by mail,
    webauthn the creation options of a passkey, named by `name`), after a recent sign-in or
    re-authentication."""

    permission_classes = [IsAuthenticated, RecentlyAuthenticated]

    class InputSerializer(StrictSerializer):
        method = serializers.ChoiceField(choices=["totp", "email", "webauthn"])
        name = serializers.CharField(max_length=64, required=False)

        def validate(self, data):
            if "name" in data and data["method"] != passkeys.METHOD:
                raise serializers.ValidationError({"name": ["Only a passkey (webauthn) is named."]})
            return data

    @extend_schema(
        responses=inline_serializer(
            "MfaDevice",
            {
                "device_id": serializers.CharField(),
                "method": serializers.CharField(),
                "name": serializers.CharField(),
                "confirmed": serializers.BooleanField(),
            },
            many=True,
        )
    )
    def get(self, request):
        owned = [
            device for model in mfa.MODELS.values() for device in model.objects.filter(user=request.user)
        ]
        return Response(
            [
                {
                    "device_id": mfa.device_key(d),
                    "method": mfa.method_of(d),
                    "name": d.name,
                    "confirmed": d.confirmed,
                }
                for d in owned
            ]
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "Enrolment",
                {
                    "device_id": serializers.CharField(),
                    "otpauth_uri": serializers.CharField(required=False, allow_null=True),
                    "method": serializers.CharField(required=False),
                    "options": serializers.DictField(
                        required=False,
                        help_text="webauthn: PublicKeyCredentialCreationOptions, WebAuthn L3 JSON.",
                    ),
                },
            ),
            403: REAUTHENTICATION_REQUIRED,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["method"] == passkeys.METHOD:
            passkey = passkey_enrolment.passkey_enrol_begin(
                user=request.user, name=data.validated_data.get("name", "")
            )
            return Response(
                {"device_id": passkey.device_id, "method": passkeys.METHOD, "options": passkey.options},
                status=status.HTTP_201_CREATED,
            )
        enrolment = mfa.mfa_device_create(user=request.user, method=data.validated_data["method"])
        return Response(
            {"device_id": enrolment.device_id, "otpauth_uri": enrolment.otpauth_uri},
            status=status.HTTP_201_CREATED,
        )


class MfaDeviceVerifyApi(APIView):
    """Confirm an enrolment: a code (200), or a passkey's registration response (`credential`,
    204)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictSerializer):
        code = serializers.CharField(max_length=32, required=False)
        credential = credential_field(required=False)

        def validate(self, data):
            if len(data) != 1:
                raise serializers.ValidationError("Give one proof: a code or a credential.")
            return data

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "MfaVerified", {"device_id": serializers.CharField(), "confirmed": serializers.BooleanField()}
            ),
            204: None,
        },
    )
    def post(self, request, device_id: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "credential" in data.validated_data:
            passkey_enrolment.passkey_enrol_complete(
                user=request.user, device_id=device_id, credential=data.validated_data["credential"]
            )
            return Response(status=status.HTTP_204_NO_CONTENT)
        key = mfa.mfa_device_verify(user=request.user, device_id=device_id, code=data.validated_data["code"])
        return Response({"device_id": key, "confirmed": True})


class MfaDeviceDeleteApi(APIView):
    """Remove a factor, after a recent sign-in or re-authentication."""

    permission_classes = [IsAuthenticated, RecentlyAuthenticated]

    @extend_schema(responses={204: None, 403: REAUTHENTICATION_REQUIRED})
    def delete(self, request, device_id: str):
        mfa.mfa_device_disable(user=request.user, device_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BackupCodesApi(APIView):
    """New backup codes, shown this once; the old ones stop working. After a recent sign-in or
    re-authentication."""

    permission_classes = [IsAuthenticated, RecentlyAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "BackupCodes", {"codes": serializers.ListField(child=serializers.CharField())}
            ),
            403: REAUTHENTICATION_REQUIRED,
        },
    )
    def post(self, request):
        return Response({"codes": mfa.backup_codes_generate(user=request.user)})


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


class IpRuleOutputSerializer(serializers.ModelSerializer):
    rule_id = serializers.UUIDField(source="id")
    user_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = IPRule
        fields = (
            "rule_id",
            "cidr",
            "list",
            "scope",
            "user_id",
            "expires_at",
            "reason",
            "automatic",
            "created_at",
        )


class IpRuleListApi(ListAPIView):
    """The allow and block lists (?list=allow|block)."""

    permission_classes = [ManageIpRules]
    serializer_class = IpRuleOutputSerializer

    class InputSerializer(StrictSerializer):
        cidr = serializers.CharField(max_length=64)
        list = serializers.ChoiceField(choices=IPRule.List.values)
        user_id = serializers.PrimaryKeyRelatedField(
            queryset=User.objects.all(), source="user", required=False, allow_null=True
        )
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def get_queryset(self):
        rules = IPRule.objects.order_by("-created_at")
        if chosen := self.request.query_params.get("list"):
            rules = rules.filter(list=chosen)
        return rules

    @extend_schema(request=InputSerializer, responses={201: IpRuleOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = data.validated_data.get("user")
        rule = ip_rules.ip_rule_add(
            cidr=data.validated_data["cidr"],
            list=data.validated_data["list"],
            scope="user" if user else "global",
            user=user,
            expires_at=data.validated_data.get("expires_at"),
            reason=data.validated_data["reason"],
        )
        return Response(IpRuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)


class IpRuleDeleteApi(APIView):
    permission_classes = [ManageIpRules]

    @extend_schema(responses={204: None})
    def delete(self, request, rule_id):
        ip_rules.ip_rule_remove(rule_id=rule_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
