"""Identity's reads."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from identity.models import AuthSession, User


def session_is_usable(session: AuthSession, now=None) -> bool:
    """Active, within its absolute lifetime and its idle timeout, and its user active."""
    now = now or timezone.now()
    idle = timedelta(seconds=settings.IDENTITY["SESSION_IDLE_TIMEOUT"])
    return (
        session.status == AuthSession.Status.ACTIVE
        and session.expires_at > now
        and session.last_seen_at + idle > now
        and session.user.is_active
    )


def session_recently_authenticated(session: AuthSession, now=None) -> bool:
    """Did its user prove who they are (sign-in, re-authentication) within REAUTH_SECONDS?"""
    if session.authenticated_at is None:
        return False
    window = timedelta(seconds=settings.IDENTITY["REAUTH_SECONDS"])
    return session.authenticated_at + window > (now or timezone.now())


def sessions_of(user: User | None = None) -> QuerySet[AuthSession]:
    """Sessions newest first (a user's, or everyone's for admins)."""
    sessions = AuthSession.objects.select_related("user").order_by("-created_at")
    return sessions.filter(user=user) if user is not None else sessions


def users_list(*, search: str = "") -> QuerySet[User]:
    users = User.objects.order_by("email")
    return users.filter(email__icontains=search) if search else users
