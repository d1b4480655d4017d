"""Passkeys at the API: signing in without a password (auth/passkey/options, auth/passkey/login).
The second factor, enrolment and re-authentication take a passkey at their own endpoints."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from identity.api.auth import PublicAuthApi, TokenPairOutput, signed_in_pair
from identity.api.serializers import credential_field
from identity.network import client_ip, user_agent
from identity.services import passkey_login, passkeys
from identity_project.schema import error_answer
from identity_project.serializers import StrictSerializer

OptionsOutput = inline_serializer(
    "PasskeyOptions",
    {
        "challenge_id": serializers.UUIDField(),
        "options": serializers.DictField(help_text="PublicKeyCredentialRequestOptions, WebAuthn L3 JSON."),
    },
)


class PasskeyOptionsApi(PublicAuthApi):
    """Request options for a discoverable passkey (no allowed credentials: nothing says which
    accounts exist), user verification required. A re-authentication with a passkey answers these
    options too. Each is answered once, within WEBAUTHN_CEREMONY_SECONDS."""

    @extend_schema(request=None, responses={200: OptionsOutput})
    def post(self, request):
        ceremony, options = passkeys.sign_in_options()
        return Response({"challenge_id": ceremony.id, "options": options})


class PasskeyLoginApi(PublicAuthApi):
    """Sign in with a passkey alone: tokens as for a login. The same 401 for an unknown credential
    and one that does not verify; 423 locked; 403 ip_blocked; 410 when the options are spent."""

    class InputSerializer(StrictSerializer):
        challenge_id = serializers.UUIDField()
        credential = credential_field()
        device_fingerprint = serializers.CharField(max_length=512, required=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: TokenPairOutput,
            401: error_answer(
                "invalid_credentials: an unknown passkey, or an assertion that does not verify."
            ),
            403: error_answer("ip_blocked: sign-in from this address is refused."),
            410: error_answer("challenge_gone: the options expired or were answered already."),
            423: error_answer("account_locked: a lock is in force; the signature was not checked."),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        signed_in = passkey_login.passkey_login(
            challenge_id=data.validated_data["challenge_id"],
            credential=data.validated_data["credential"],
            ip_address=client_ip(request),
            user_agent=user_agent(request),
            fingerprint=data.validated_data.get("device_fingerprint"),
        )
        return Response(signed_in_pair(signed_in))
