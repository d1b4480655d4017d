"""The sign-in endpoints (auth/...): register, login, refresh, logout, password reset."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.serializers import credential_field
from identity.api.throttles import AUTH_THROTTLES, RefreshIpThrottle
from identity.network import client_ip, user_agent
from identity.services import accounts, login, mfa_challenges, passkeys, passwords, sessions
from identity.services.tokens import IssuedTokens
from identity_project.api_errors import ApiError
from identity_project.schema import error_answer
from identity_project.serializers import StrictSerializer

TokenPairOutput = inline_serializer(
    "TokenPair",
    {
        "access": serializers.CharField(),
        "refresh": serializers.CharField(),
        "session_id": serializers.UUIDField(),
        "user_id": serializers.UUIDField(),
    },
)


ChallengeOutput = inline_serializer(
    "MfaChallenge",
    {
        "mfa_required": serializers.BooleanField(),
        "challenge_id": serializers.UUIDField(),
        "methods": serializers.ListField(child=serializers.DictField()),
        "expires_at": serializers.DateTimeField(),
    },
)


ChallengeIssuedOutput = inline_serializer(
    "MfaChallengeIssued",
    {
        "challenge_id": serializers.UUIDField(),
        "method": serializers.CharField(),
        "issued_at": serializers.DateTimeField(),
        "options": serializers.DictField(
            required=False,
            help_text="A webauthn device: PublicKeyCredentialRequestOptions, WebAuthn L3 JSON.",
        ),
    },
)


class PublicAuthApi(APIView):
    """An endpoint reached before signing in: no authentication, throttled per client address and
    per e-mail tried (the per-account throttle passes over a body without an e-mail)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = AUTH_THROTTLES


def current_session(request):
    """The session of the access token that authenticated this request."""
    session = getattr(request.user, "auth_session", None)
    if session is None:
        raise ApiError(
            "This needs a sign-in with an access token.", code="not_authenticated", status_code=401
        )
    return session


def token_pair(tokens: IssuedTokens, *, session_id, user_id) -> dict:
    return {"access": tokens.access, "refresh": tokens.refresh, "session_id": session_id, "user_id": user_id}


class RegisterApi(PublicAuthApi):
    """Create an account; password policy errors are 400, a taken e-mail 409."""

    class InputSerializer(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        full_name = serializers.CharField(max_length=150, required=False, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "Registered", {"user_id": serializers.UUIDField(), "email": serializers.EmailField()}
            )
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = accounts.user_register(**data.validated_data)
        return Response({"user_id": user.id, "email": user.email}, status=status.HTTP_201_CREATED)


class LoginApi(PublicAuthApi):
    """E-mail and password: tokens, or 401 (the same for an unknown e-mail), 423 when locked."""

    class InputSerializer(StrictSerializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        device_fingerprint = serializers.CharField(max_length=512, required=False)

    @extend_schema(request=InputSerializer, responses={200: TokenPairOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        signed_in = login.login(
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            ip_address=client_ip(request),
            user_agent=user_agent(request),
            fingerprint=data.validated_data.get("device_fingerprint"),
        )
        if signed_in.challenge is not None:
            challenge = signed_in.challenge
            return Response(
                {
                    "mfa_required": True,
                    "challenge_id": challenge.id,
                    "methods": mfa_challenges.challenge_methods(challenge),
                    "expires_at": challenge.expires_at,
                }
            )
        return Response(signed_in_pair(signed_in))


def signed_in_pair(signed_in) -> dict:
    return token_pair(signed_in.tokens, session_id=signed_in.session.id, user_id=signed_in.session.user_id)


class MfaSelectApi(PublicAuthApi):
    """Choose the device of the challenge; an e-mail device gets its code by mail, a passkey
    (webauthn) the request options to answer (a passkey is chosen here even when it is the only
    device, which the login selected already: its options are made here)."""

    class InputSerializer(StrictSerializer):
        challenge_id = serializers.UUIDField()
        device_id = serializers.CharField(max_length=40)

    @extend_schema(request=InputSerializer, responses=ChallengeIssuedOutput)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = mfa_challenges.challenge_select(**data.validated_data)
        answer = {"challenge_id": challenge.id, "method": challenge.method, "issued_at": timezone.now()}
        if challenge.method == passkeys.METHOD:
            answer["options"] = passkeys.challenge_options(challenge=challenge)
        return Response(answer)


class MfaVerifyApi(PublicAuthApi):
    """A good code, or a passkey's assertion (`credential`): tokens as for login. A wrong one: 400
    invalid_code with attempts_left; 410 when spent."""

    class InputSerializer(StrictSerializer):
        challenge_id = serializers.UUIDField()
        code = serializers.CharField(max_length=32, required=False)
        credential = credential_field(required=False)
        remember_device = serializers.BooleanField(required=False, default=False)

        def validate(self, data):
            if ("code" in data) == ("credential" in data):
                raise serializers.ValidationError("Give one proof: a code or a credential.")
            return data

    @extend_schema(request=InputSerializer, responses={200: TokenPairOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(signed_in_pair(login.mfa_verify(**data.validated_data)))


class TokenRefreshApi(PublicAuthApi):
    """Rotate the pair; a refresh token used twice ends its whole family and session (401 token_reused).
    Throttled per client address at a rate of its own (THROTTLE_TOKEN_REFRESH), not the sign-ins'."""

    throttle_classes = [RefreshIpThrottle]

    class InputSerializer(StrictSerializer):
        refresh = serializers.CharField(max_length=4096)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "Rotated", {"access": serializers.CharField(), "refresh": serializers.CharField()}
            ),
            400: error_answer("validation_error: no refresh token, or one of another shape."),
            401: error_answer(
                "token_invalid (a bad signature, expired, unknown), session_ended, or token_reused "
                "(used before: its family and session are ended)."
            ),
            429: error_answer(
                "throttled: too many refreshes from this address (THROTTLE_TOKEN_REFRESH, Retry-After)."
            ),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = sessions.session_refresh(raw_refresh=data.validated_data["refresh"])
        return Response({"access": tokens.access, "refresh": tokens.refresh})


class LogoutApi(APIView):
    """End the current session and its token family."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictSerializer):
        refresh = serializers.CharField(max_length=4096, required=False)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sessions.session_logout(
            session=current_session(request), raw_refresh=data.validated_data.get("refresh")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetApi(PublicAuthApi):
    """Always 202, whether the account exists or not."""

    class InputSerializer(StrictSerializer):
        email = serializers.CharField(max_length=254)

    @extend_schema(request=InputSerializer, responses={202: None})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passwords.password_reset_ask(email=data.validated_data["email"], ip_address=client_ip(request))
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(PublicAuthApi):
    class InputSerializer(StrictSerializer):
        token = serializers.CharField(max_length=512)
        new_password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passwords.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
