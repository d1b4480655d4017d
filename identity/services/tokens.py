"""JWTs (simplejwt) bound to a server-side session and its refresh-token family."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.tokens import RefreshToken as JwtRefreshToken

from identity.authentication import FAMILY_CLAIM, SESSION_CLAIM
from identity.errors import TokenInvalid
from identity.events import TokenIssued
from identity.models import AuthSession, RefreshToken
from identity_project.eventbus.publisher import publish_all


@dataclass(frozen=True)
class IssuedTokens:
    access: str
    refresh: str
    access_jti: str
    refresh_jti: str
    access_expires_at: datetime
    refresh_expires_at: datetime


def _lifetime(seconds: int, session: AuthSession, now: datetime) -> timedelta:
    """Never past the session's absolute end."""
    return max(timedelta(seconds=1), min(timedelta(seconds=seconds), session.expires_at - now))


def _claims(token, session: AuthSession) -> None:
    token["sub"] = str(session.user_id)
    token[SESSION_CLAIM] = str(session.id)
    token[FAMILY_CLAIM] = str(session.family_id)


def tokens_issue(*, session: AuthSession, parent_jti: str = "") -> IssuedTokens:
    """Mint an access and a refresh token for the session; record the refresh token's jti."""
    issued, events = tokens_mint(session=session, parent_jti=parent_jti)
    publish_all(events)
    return issued


def tokens_mint(*, session: AuthSession, parent_jti: str = "") -> tuple[IssuedTokens, list[TokenIssued]]:
    """tokens_issue() without publishing: the caller publishes the TokenIssued events together
    with those of the same change (a refresh)."""
    now = timezone.now()
    access = AccessToken()
    access.set_exp(
        from_time=now, lifetime=_lifetime(settings.IDENTITY["ACCESS_TOKEN_LIFETIME"], session, now)
    )
    _claims(access, session)
    refresh = JwtRefreshToken()
    refresh.set_exp(
        from_time=now, lifetime=_lifetime(settings.IDENTITY["REFRESH_TOKEN_LIFETIME"], session, now)
    )
    _claims(refresh, session)
    access_expires = datetime.fromtimestamp(access["exp"], tz=now.tzinfo)
    refresh_expires = datetime.fromtimestamp(refresh["exp"], tz=now.tzinfo)
    RefreshToken.objects.create(
        jti=refresh["jti"],
        session=session,
        family_id=session.family_id,
        parent_jti=parent_jti,
        issued_at=now,
        expires_at=refresh_expires,
    )
    events = [
        TokenIssued(
            session_id=session.id,
            user_id=session.user_id,
            jti=jti,
            token_type=token_type,
            family_id=session.family_id,
            expires_at=expires_at,
        )
        for token_type, jti, expires_at in (
            ("access", access["jti"], access_expires),
            ("refresh", refresh["jti"], refresh_expires),
        )
    ]
    return IssuedTokens(
        access=str(access),
        refresh=str(refresh),
        access_jti=access["jti"],
        refresh_jti=refresh["jti"],
        access_expires_at=access_expires,
        refresh_expires_at=refresh_expires,
    ), events


def refresh_token_decode(raw: str) -> JwtRefreshToken:
    """A refresh token whose signature, expiry and type are good (its fate is checked apart)."""
    try:
        token = JwtRefreshToken(raw)
    except TokenError as exc:
        raise TokenInvalid() from exc
    if SESSION_CLAIM not in token or FAMILY_CLAIM not in token:
        raise TokenInvalid()
    return token
