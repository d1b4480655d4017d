"""API authentication: a simplejwt access token whose session must still be usable, right now."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from identity.models import AuthSession
from identity.selectors import session_is_usable
from identity_project.eventbus.context import Actor, set_actor

# Claims our JWTs carry besides simplejwt's: the session and its refresh-token family.
SESSION_CLAIM = "sid"
FAMILY_CLAIM = "fam"

# last_seen_at is written at most this often per session (it feeds the idle timeout).
SEEN_RESOLUTION = timedelta(seconds=60)


def _seen(session: AuthSession, now) -> None:
    if session.last_seen_at + SEEN_RESOLUTION < now:
        AuthSession.objects.filter(pk=session.pk).update(last_seen_at=now)


def usable_session(session_id, user_id) -> AuthSession | None:
    """The user's AuthSession of that id if it is usable now (its idle clock is wound)."""
    session = AuthSession.objects.select_related("user").filter(pk=session_id, user_id=user_id).first()
    now = timezone.now()
    if session is None or not session_is_usable(session, now):
        return None
    _seen(session, now)
    return session


class SessionJWTAuthentication(JWTAuthentication):
    """Refuses an access token at once when its session ended (logout, revoked, expired,
    invalidated) or its user was deactivated or deleted, not only when the token expires."""

    def get_user(self, validated_token):
        session_id = validated_token.get(SESSION_CLAIM)
        session = (
            AuthSession.objects.select_related("user").filter(pk=session_id).first() if session_id else None
        )
        now = timezone.now()
        if session is None or str(session.user_id) != str(validated_token.get("sub")):
            raise InvalidToken("The token's session does not exist.")
        if not session_is_usable(session, now):
            raise AuthenticationFailed("The session has ended.", code="session_ended")
        _seen(session, now)
        user = session.user
        user.auth_session = session
        set_actor(Actor("user", str(user.id)))
        return user


class VerifiedSessionAuthentication(SessionAuthentication):
    """The admin site's Django session, for the pages of ours that call the API from it (the API
    docs' "try it out"): only once a second factor verified it (django-otp's OTPMiddleware), and
    only while its AuthSession lives (identity.middleware). Never a way around the second factor:
    a session signed in on a password alone is not accepted, even where the admin allows it."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            return None
        user = found[0]
        if not (user.is_verified() and getattr(user, "auth_session", None)):
            return None
        set_actor(Actor("user", str(user.id)))
        return found
