"""Re-authentication at the API: the permission sensitive changes carry, and the endpoint that
grants it (auth/reauthenticate)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.auth import current_session
from identity.api.serializers import credential_field
from identity.api.throttles import REAUTH_THROTTLES
from identity.errors import ReauthenticationRequired
from identity.network import client_ip, user_agent
from identity.selectors import session_recently_authenticated
from identity.services import reauthentication
from identity_project.schema import error_answer
from identity_project.serializers import StrictSerializer

REAUTHENTICATION_REQUIRED = error_answer(
    "reauthentication_required: the session's sign-in or re-authentication is older than "
    "IDENTITY_REAUTH_SECONDS (POST auth/reauthenticate, then try again); nothing was changed."
)
LOCKED = error_answer("account_locked: a lock is in force; nothing was checked.")
THROTTLED = error_answer("throttled: too many proofs from this account or address (Retry-After).")


def reauthentication_require(request) -> None:
    """403 reauthentication_required unless the request's session proved its user recently. A
    request without a session of ours (not an access token) has nothing to prove it with."""
    session = getattr(request.user, "auth_session", None)
    if session is None or not session_recently_authenticated(session):
        raise ReauthenticationRequired()


class RecentlyAuthenticated(BasePermission):
    """Changes through the view need a recent sign-in or re-authentication; reading does not.
    It comes after IsAuthenticated, so an anonymous caller still gets 401."""

    def has_permission(self, request, view) -> bool:
        if request.method not in SAFE_METHODS:
            reauthentication_require(request)
        return True


def proof_of(request) -> reauthentication.Proof:
    return reauthentication.Proof(
        session=current_session(request), ip=client_ip(request), agent=user_agent(request)
    )


class ReauthenticateApi(APIView):
    """Prove again who one is, with the password, a second-factor code or a passkey's assertion
    (`credential`, answering the options of auth/passkey/options): the session may make sensitive
    changes for IDENTITY_REAUTH_SECONDS. A wrong proof counts like a failed sign-in."""

    permission_classes = [IsAuthenticated]
    throttle_classes = REAUTH_THROTTLES

    class InputSerializer(StrictSerializer):
        password = serializers.CharField(max_length=256, trim_whitespace=False, required=False)
        code = serializers.CharField(max_length=32, required=False)
        credential = credential_field(required=False)

        def validate(self, data):
            if len(data) != 1:
                raise serializers.ValidationError("Give one proof: a password, a code or a credential.")
            return data

    @extend_schema(
        request=InputSerializer,
        responses={
            204: None,
            401: error_answer(
                "invalid_credentials (a wrong password or a refused passkey) or invalid_code (a "
                "wrong code): counted toward the account's lock like a failed sign-in; "
                "not_authenticated without a token."
            ),
            423: LOCKED,
            429: THROTTLED,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reauthentication.session_reauthenticate(proof=proof_of(request), **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
