"""Sessions: start, refresh with rotation and reuse detection, end, expire."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from identity.authentication import FAMILY_CLAIM
from identity.errors import NotFound, TokenInvalid, TokenReused
from identity.events import (
    SessionCreated,
    SessionExpired,
    SessionInvalidated,
    SessionRefreshed,
    SessionTerminated,
    TokenFamilyRevoked,
    TokenRefreshed,
    TokenRevoked,
)
from identity.models import AuthSession, MFAChallenge, RefreshToken, User
from identity.selectors import session_is_usable
from identity.services.sweeps import each_due
from identity.services.tokens import IssuedTokens, refresh_token_decode, tokens_mint
from identity_project.eventbus.publisher import publish, publish_all

TERMINATION_REASONS = {"logout", "user_revoked", "admin_revoked", "device_revoked"}
INVALIDATION_REASONS = {"password_changed", "user_deactivated", "user_locked", "token_reuse", "mfa_failed"}


@dataclass(frozen=True)
class StartedSession:
    session: AuthSession
    tokens: IssuedTokens | None


def session_start(
    *,
    user: User,
    ip_address: str,
    user_agent: str,
    requires_mfa: bool = False,
    session_type: str = "password",
    mfa_used: bool = False,
    device=None,
    with_tokens: bool = True,
) -> StartedSession:
    """Open a session; a complete one gets its tokens now (unless `with_tokens` is off: the admin
    site's sessions live in a Django session), a pending one after the second factor. A complete
    sign-in is the session's first proof of who its user is; a pending one proves nothing yet."""
    now = timezone.now()
    session = AuthSession.objects.create(
        user=user,
        status=AuthSession.Status.PENDING_MFA if requires_mfa else AuthSession.Status.ACTIVE,
        session_type=session_type,
        mfa_used=mfa_used,
        ip_address=ip_address,
        user_agent=user_agent,
        device=device,
        created_at=now,
        last_seen_at=now,
        authenticated_at=None if requires_mfa else now,
        expires_at=now + timedelta(seconds=settings.IDENTITY["SESSION_ABSOLUTE_LIFETIME"]),
    )
    tokens, token_events = tokens_mint(session=session) if with_tokens and not requires_mfa else (None, [])
    publish_all(
        [
            SessionCreated(
                session_id=session.id,
                user_id=user.id,
                session_type=session_type,
                requires_mfa=requires_mfa,
                ip_address=ip_address,
                user_agent=user_agent,
                expires_at=session.expires_at,
            ),
            *token_events,
        ]
    )
    return StartedSession(session=session, tokens=tokens)


def session_refresh(*, raw_refresh: str) -> IssuedTokens:
    """Rotate the pair. A refresh token used a second time is theft: the whole family is revoked
    and the session invalidated (committed), then the caller gets TokenReused."""
    token = refresh_token_decode(raw_refresh)
    with transaction.atomic():
        # The token and its session locked, not the user: a lock writes the row it takes, and a
        # deactivation or lock of the user ends the session, whose row this waits for.
        try:
            record = (
                RefreshToken.objects.select_for_update(of=("self", "session"))
                .select_related("session__user")
                .get(jti=token["jti"], family_id=token[FAMILY_CLAIM])
            )
        except RefreshToken.DoesNotExist as exc:
            raise TokenInvalid() from exc
        session = record.session
        if session.status == AuthSession.Status.ENDED or not session_is_usable(session):
            raise TokenInvalid("The session has ended.", code="session_ended")
        reused = record.used_at is not None or record.revoked_at is not None
        if reused:
            session_end(session=session, reason="token_reuse")
        else:
            # Plain UPDATEs of the locked rows: nothing listens to these models' saves.
            now = timezone.now()
            RefreshToken.objects.filter(pk=record.pk).update(used_at=now)
            AuthSession.objects.filter(pk=session.pk).update(last_seen_at=now)
            session.last_seen_at = now
            issued, token_events = tokens_mint(session=session, parent_jti=record.jti)
            publish_all(
                [
                    *token_events,
                    TokenRefreshed(
                        session_id=session.id,
                        user_id=session.user_id,
                        old_jti=record.jti,
                        new_jti=issued.refresh_jti,
                        family_id=session.family_id,
                    ),
                    SessionRefreshed(
                        session_id=session.id, user_id=session.user_id, expires_at=session.expires_at
                    ),
                ]
            )
    if reused:
        raise TokenReused()  # after the commit: the family and the session stay revoked
    return issued


def _revoke_family(session: AuthSession, reason: str) -> int:
    now = timezone.now()
    live = RefreshToken.objects.filter(
        family_id=session.family_id, revoked_at__isnull=True, used_at__isnull=True
    )
    revoked = live.update(revoked_at=now, revoke_reason=reason)
    RefreshToken.objects.filter(family_id=session.family_id, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    )
    return revoked


def session_end(*, session: AuthSession, reason: str, revoked_jti: str | None = None) -> None:
    """End a session for `reason`: a user's or admin's decision (SessionTerminated), a security
    reason (SessionInvalidated) or its lifetime (SessionExpired). Its token family dies with it."""
    if session.status == AuthSession.Status.ENDED:
        return
    now = timezone.now()
    session.status = AuthSession.Status.ENDED
    session.ended_at = now
    session.end_reason = reason
    session.save(update_fields=["status", "ended_at", "end_reason"])
    # A pending second-factor challenge belongs to its session: it dies with it (410 afterwards).
    MFAChallenge.objects.filter(session=session, status=MFAChallenge.Status.PENDING).update(
        status=MFAChallenge.Status.FAILED, failure_reason="session_ended"
    )
    if revoked_jti:
        publish(
            TokenRevoked(
                session_id=session.id, user_id=session.user_id, jti=revoked_jti, family_id=session.family_id,
                reason=reason,
            )
        )  # fmt: skip
    # Reason names, not passwords (bandit reads the "token_reuse" key as one).
    family_reason = {"token_reuse": "reuse_detected", "logout": "logout"}.get(  # nosec B105
        reason, "session_ended"
    )
    tokens_revoked = _revoke_family(session, family_reason)
    publish(
        TokenFamilyRevoked(
            session_id=session.id,
            user_id=session.user_id,
            family_id=session.family_id,
            reason=family_reason,
            tokens_revoked=tokens_revoked,
        )
    )
    if reason in TERMINATION_REASONS:
        publish(SessionTerminated(session_id=session.id, user_id=session.user_id, reason=reason))
    elif reason in INVALIDATION_REASONS:
        publish(SessionInvalidated(session_id=session.id, user_id=session.user_id, reason=reason))
    else:
        publish(SessionExpired(session_id=session.id, user_id=session.user_id, expired_at=now))


@transaction.atomic
def session_logout(*, session: AuthSession, raw_refresh: str | None = None) -> None:
    """End the current session; a refresh token given must belong to it."""
    jti = None
    if raw_refresh:
        token = refresh_token_decode(raw_refresh)
        if token[FAMILY_CLAIM] != str(session.family_id):
            raise TokenInvalid("The refresh token belongs to another session.")
        jti = token["jti"]
    session_end(session=session, reason="logout", revoked_jti=jti)


@transaction.atomic
def session_revoke(*, session_id: uuid.UUID | str, by_admin: bool, owner: User | None = None) -> AuthSession:
    """A user ends one of their own sessions, or an admin anyone's."""
    sessions = AuthSession.objects.select_for_update()
    if owner is not None:
        sessions = sessions.filter(user=owner)
    session = sessions.filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    session_end(session=session, reason="admin_revoked" if by_admin else "user_revoked")
    return session


@transaction.atomic
def sessions_invalidate_for_user(*, user: User, reason: str, keep: AuthSession | None = None) -> int:
    """End every open session of the user (but `keep`); returns how many ended."""
    sessions = (
        AuthSession.objects.select_for_update().filter(user=user).exclude(status=AuthSession.Status.ENDED)
    )
    if keep is not None:
        sessions = sessions.exclude(pk=keep.pk)
    count = 0
    for session in sessions:
        session_end(session=session, reason=reason)
        count += 1
    return count


def _due(now) -> tuple[QuerySet[AuthSession], QuerySet[AuthSession]]:
    """Open sessions past their absolute end, and open sessions idle too long."""
    idle_cutoff = now - timedelta(seconds=settings.IDENTITY["SESSION_IDLE_TIMEOUT"])
    open_sessions = AuthSession.objects.exclude(status=AuthSession.Status.ENDED)
    return open_sessions.filter(expires_at__lte=now), open_sessions.filter(last_seen_at__lte=idle_cutoff)


def sessions_due(now, limit: int) -> tuple[QuerySet, QuerySet]:
    """The ids of due sessions, as two queries, each the oldest first along its partial index over
    open sessions (session_open_expiry_idx, session_open_idle_idx). One query with the OR of both
    reads every open session: the planner, which cannot know that open sessions are the recently
    seen ones, takes most of them for idle and scans."""
    past_end, idle = _due(now)
    return (
        past_end.order_by("expires_at").values_list("pk", flat=True)[:limit],
        idle.order_by("last_seen_at").values_list("pk", flat=True)[:limit],
    )


def sessions_expire_due(*, now=None, limit: int = 500) -> int:
    """The periodic sweep: sessions past their absolute lifetime or idle too long end as expired."""
    now = now or timezone.now()
    past_end, idle = _due(now)
    candidates = list(dict.fromkeys(pk for query in sessions_due(now, limit) for pk in query))
    return each_due(
        past_end | idle,
        lambda session: session_end(session=session, reason="expired"),
        limit=limit,
        candidates=candidates,
    )
