"""The second factors of the signed-in user (me/mfa): enrolment, confirmation, removal, backup
codes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.reauthentication import REAUTHENTICATION_REQUIRED, RecentlyAuthenticated
from identity.api.serializers import credential_field
from identity.services import mfa_devices, passkey_enrolment, passkeys
from identity_project.serializers import StrictSerializer


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
            device
            for model in mfa_devices.MODELS.values()
            for device in model.objects.filter(user=request.user)
        ]
        return Response(
            [
                {
                    "device_id": mfa_devices.device_key(d),
                    "method": mfa_devices.method_of(d),
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
        enrolment = mfa_devices.mfa_device_create(user=request.user, method=data.validated_data["method"])
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
        key = mfa_devices.mfa_device_verify(
            user=request.user, device_id=device_id, code=data.validated_data["code"]
        )
        return Response({"device_id": key, "confirmed": True})


class MfaDeviceDeleteApi(APIView):
    """Remove a factor, after a recent sign-in or re-authentication."""

    permission_classes = [IsAuthenticated, RecentlyAuthenticated]

    @extend_schema(responses={204: None, 403: REAUTHENTICATION_REQUIRED})
    def delete(self, request, device_id: str):
        mfa_devices.mfa_device_disable(user=request.user, device_id=device_id)
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
        return Response({"codes": mfa_devices.backup_codes_generate(user=request.user)})
