"""The signed-in user's own endpoints (me/...): profile, password, sessions."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.reauthentication import (
    LOCKED,
    REAUTHENTICATION_REQUIRED,
    THROTTLED,
    proof_of,
    reauthentication_require,
)
from identity.api.serializers import SessionOutputSerializer
from identity.api.throttles import REAUTH_THROTTLES
from identity.backends import effective_roles
from identity.models import Role
from identity.selectors import sessions_of
from identity.services import accounts, mfa_devices, passwords, sessions
from identity_project.schema import error_answer
from identity_project.serializers import StrictSerializer

ProfileOutput = inline_serializer(
    "Profile",
    {
        "user_id": serializers.UUIDField(),
        "email": serializers.EmailField(),
        "full_name": serializers.CharField(),
        "is_active": serializers.BooleanField(),
        "mfa_enabled": serializers.BooleanField(),
        "roles": serializers.ListField(child=serializers.CharField()),
        "permissions": serializers.ListField(child=serializers.CharField()),
    },
)


def profile(user) -> dict:
    return {
        "user_id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "is_active": user.is_active,
        "mfa_enabled": mfa_devices.mfa_enabled(user),
        "roles": sorted(Role.objects.filter(pk__in=effective_roles(user)).values_list("name", flat=True)),
        "permissions": sorted(user.get_all_permissions()),
    }


class MeApi(APIView):
    """The profile; changing the e-mail (what one signs in with) needs a recent sign-in or
    re-authentication."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictSerializer):
        full_name = serializers.CharField(max_length=150, allow_blank=True)
        email = serializers.EmailField(max_length=254)

    @extend_schema(responses=ProfileOutput)
    def get(self, request):
        return Response(profile(request.user))

    @extend_schema(
        request=InputSerializer,
        responses={
            200: ProfileOutput,
            403: REAUTHENTICATION_REQUIRED,
            409: error_answer("email_taken: another account has this e-mail."),
        },
    )
    def patch(self, request):
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        email = data.validated_data.get("email")
        if email is not None and email.lower() != request.user.email:
            reauthentication_require(request)
        user = accounts.user_update(user=request.user, fields=data.validated_data)
        return Response(profile(user))


class MyPasswordApi(APIView):
    """Change the password; every other session ends. The current password is this session's
    re-authentication: throttled, and a wrong one counted like a failed sign-in."""

    permission_classes = [IsAuthenticated]
    throttle_classes = REAUTH_THROTTLES

    class InputSerializer(StrictSerializer):
        current_password = serializers.CharField(max_length=256, trim_whitespace=False)
        new_password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            204: None,
            400: error_answer(
                "validation_error: a wrong current_password (counted toward the account's lock) "
                "or a new_password the policy refuses."
            ),
            423: LOCKED,
            429: THROTTLED,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passwords.password_change(
            proof=proof_of(request),
            current=data.validated_data["current_password"],
            new=data.validated_data["new_password"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MySessionListApi(ListAPIView):
    """Own sessions, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = SessionOutputSerializer

    def get_queryset(self):
        return sessions_of(self.request.user)

    def get_serializer_context(self):
        session = getattr(self.request.user, "auth_session", None)
        return {**super().get_serializer_context(), "current_session_id": session.id if session else None}


class MySessionEndApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, session_id):
        sessions.session_revoke(session_id=session_id, by_admin=False, owner=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
