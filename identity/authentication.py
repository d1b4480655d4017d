"""API authentication: a simplejwt access token whose session must still be usable, right now."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
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
        if session.last_seen_at + SEEN_RESOLUTION < now:
            AuthSession.objects.filter(pk=session.pk).update(last_seen_at=now)
        user = session.user
        user.auth_session = session
        set_actor(Actor("user", str(user.id)))
        return user
