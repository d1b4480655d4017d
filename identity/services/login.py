"""Signing in: address rules, lockout, the password, risk, then tokens or a second-factor challenge.

Every failure is recorded and published, then answered after commit: 403 from a refused address
(before the password is looked at), 423 when locked (the password unchecked), else the same 401
for an unknown e-mail, a wrong password or an inactive account, at the cost of one hash check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from identity.errors import AccountLocked, AddressRefused, InvalidCredentials
from identity.events import SuspiciousLoginDetected, UserLoggedIn, UserLoginFailed
from identity.models import AuthSession, Device, LoginAttempt, MFAChallenge, User
from identity.services import devices, ip_rules, lockout, mfa, risk
from identity.services.alerts import security_alert_raise
from identity.services.sessions import session_start
from identity.services.tokens import IssuedTokens, tokens_issue
from identity_project import metrics
from identity_project.eventbus.context import Actor, set_actor
from identity_project.eventbus.publisher import publish


@dataclass(frozen=True)
class SignedIn:
    """Either tokens (the sign-in is complete) or a challenge (the second factor is due)."""

    session: AuthSession
    tokens: IssuedTokens | None = None
    challenge: MFAChallenge | None = None


@dataclass(frozen=True)
class _Outcome:
    signed_in: SignedIn | None = None
    error: type[Exception] | None = None


@cache
def _dummy_hash() -> str:
    return make_password("an unguessable dummy password for timing")


def _count(outcome: str) -> None:
    """Counted once the attempt's transaction committed, as its events are."""
    transaction.on_commit(lambda: metrics.login_attempted(outcome))


def _fail(*, user: User | None, email: str, ip: str, agent: str, reason: str, now) -> None:
    LoginAttempt.objects.create(user=user, email=email, ip_address=ip, succeeded=False, reason=reason, at=now)
    _count(reason)
    publish(
        UserLoginFailed(
            user_id=user.id if user else None,
            email_attempted=email,
            ip_address=ip,
            user_agent=agent,
            reason=reason,
        )
    )


def login(
    *, email: str, password: str, ip_address: str, user_agent: str, fingerprint: str | None = None
) -> SignedIn:
    outcome = _attempt(
        email=email.strip().lower(),
        password=password,
        ip=ip_address,
        agent=user_agent,
        fingerprint=fingerprint,
    )
    if outcome.error is not None:
        raise outcome.error()
    return outcome.signed_in


@transaction.atomic
def _attempt(*, email: str, password: str, ip: str, agent: str, fingerprint: str | None) -> _Outcome:
    now = timezone.now()
    user = User.objects.select_for_update().filter(email=email).first()
    if ip_rules.address_refused(ip_address=ip, user=user, now=now):
        _fail(user=user, email=email, ip=ip, agent=agent, reason="ip_blocked", now=now)
        ip_rules.refused_login_alert(ip_address=ip, user=user)
        return _Outcome(error=AddressRefused)
    if user is None:
        if lockout.unknown_email_locked(email):
            _fail(user=None, email=email, ip=ip, agent=agent, reason="locked", now=now)
            return _Outcome(error=AccountLocked)
        check_password(password, _dummy_hash())
        lockout.after_unknown_email_failure(email)
        _fail(user=None, email=email, ip=ip, agent=agent, reason="unknown_user", now=now)
        ip_rules.stuffing_guard(ip_address=ip, now=now)
        return _Outcome(error=InvalidCredentials)

    lockout.lapse_if_due(user, now)
    if lockout.lock_applies(user, ip, now):
        _fail(user=user, email=email, ip=ip, agent=agent, reason="locked", now=now)
        return _Outcome(error=AccountLocked)
    if not user.check_password(password):
        _fail(user=user, email=email, ip=ip, agent=agent, reason="bad_password", now=now)
        lockout.after_password_failure(user, ip, now)
        ip_rules.stuffing_guard(ip_address=ip, now=now)
        return _Outcome(error=InvalidCredentials)
    if not user.is_active:
        _fail(user=user, email=email, ip=ip, agent=agent, reason="inactive", now=now)
        return _Outcome(error=InvalidCredentials)
    return _password_accepted(user=user, email=email, ip=ip, agent=agent, fingerprint=fingerprint, now=now)


def _password_accepted(
    *, user: User, email: str, ip: str, agent: str, fingerprint: str | None, now
) -> _Outcome:
    set_actor(Actor("user", str(user.id)))
    device, device_is_new = (None, False)
    if fingerprint:
        device, device_is_new = devices.device_seen(user=user, raw_fingerprint=fingerprint, user_agent=agent)
    assessment = risk.assess(user=user, ip_address=ip, device_is_new=device_is_new)
    LoginAttempt.objects.create(user=user, email=email, ip_address=ip, succeeded=True, at=now)
    if assessment.level != "low":
        suspicious = publish(
            SuspiciousLoginDetected(
                user_id=user.id, ip_address=ip, risk_level=assessment.level, risk_factors=assessment.factors
            )
        )
        security_alert_raise(
            incident=f"suspicious-login:{user.id}:{ip}",
            severity=assessment.level,
            category="suspicious_login",
            summary=f"A {assessment.level}-risk sign-in from {ip}: {', '.join(assessment.factors)}.",
            user_id=user.id,
            related_event_id=suspicious["event_id"],
        )
    if assessment.level == "critical":
        lockout.user_lock(user=user, reason="suspicious", now=now)
        _count("locked_suspicious")
        return _Outcome(error=AccountLocked)

    has_mfa = mfa.mfa_enabled(user)
    if assessment.level == "high" and not has_mfa and settings.IDENTITY["RISK_REFUSE_HIGH_WITHOUT_MFA"]:
        _fail(user=user, email=email, ip=ip, agent=agent, reason="suspicious", now=now)
        return _Outcome(error=InvalidCredentials)
    trusted = device is not None and device.is_trusted(now)
    needs_mfa = has_mfa and (not trusted or assessment.level == "high")

    if user.lock_count and not user.lock_in_force(now):
        user.lock_count = 0
    user.last_login = now
    user.save(update_fields=["last_login", "lock_count"])
    started = session_start(user=user, ip_address=ip, user_agent=agent, requires_mfa=needs_mfa, device=device)
    if needs_mfa:
        challenge = mfa.challenge_start(user=user, session=started.session)
        _count("mfa_required")
        return _Outcome(signed_in=SignedIn(session=started.session, challenge=challenge))
    _logged_in(started.session, mfa_used=False)
    return _Outcome(signed_in=SignedIn(session=started.session, tokens=started.tokens))


def _logged_in(session: AuthSession, *, mfa_used: bool) -> None:
    _count("succeeded")
    publish(
        UserLoggedIn(
            user_id=session.user_id,
            session_id=session.id,
            ip_address=session.ip_address or "",
            user_agent=session.user_agent,
            mfa_used=mfa_used,
            device_id=session.device_id,
        )
    )


def mfa_verify(*, challenge_id, code: str, remember_device: bool = False) -> SignedIn:
    """The second step: a good code opens the pending session, with tokens."""
    with mfa.challenge_story(challenge_id):
        return _complete(mfa.challenge_verify(challenge_id=challenge_id, code=code), remember_device)


def _complete(challenge: MFAChallenge, remember_device: bool) -> SignedIn:
    with transaction.atomic():
        session = (
            AuthSession.objects.select_for_update(of=("self",))
            .select_related("user", "device")
            .get(pk=challenge.session_id)
        )
        session.status, session.session_type, session.mfa_used = AuthSession.Status.ACTIVE, "mfa", True
        session.last_seen_at = timezone.now()
        session.save(update_fields=["status", "session_type", "mfa_used", "last_seen_at"])
        tokens = tokens_issue(session=session)
        if remember_device and session.device is not None:
            devices.device_trust(device=Device.objects.select_for_update().get(pk=session.device_id))
        _logged_in(session, mfa_used=True)
    return SignedIn(session=session, tokens=tokens)
