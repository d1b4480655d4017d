"""Signing in: address rules, lockout, the password, risk, then tokens or a second-factor challenge.

One service for every door: the API (`door="api"`) and the Django admin site (`"admin_site"`,
identity/admin_door.py) sign in here, with the same rules, counters and events; only the API's
sessions get JWTs (the admin site's live in a Django session bound to its AuthSession).

Every failure is recorded and published, then answered after commit: 403 from a refused address
(before the password is looked at), 423 when locked (the password unchecked), else the same 401
for an unknown e-mail, a wrong password or an inactive account, at the cost of one hash check.
An address becomes known (sparing it from failure locks, lowering its risk) only when a whole
sign-in succeeds, second factor included.
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
from identity.services import devices, ip_rules, lockout, mfa_challenges, mfa_devices, risk
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
    # Staff at the admin site without a second factor, where one is required: the session waits
    # for an enrolment (admin_door), which completes the sign-in.
    enrolment_required: bool = False


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


@dataclass(frozen=True)
class Attempt:
    """Who is trying, from where, through which door."""

    email: str
    ip: str
    agent: str
    door: str = "api"


def failed(attempt: Attempt, *, user: User | None, reason: str, now) -> None:
    """Record and publish a failed password step (a sign-in's or a re-authentication's)."""
    LoginAttempt.objects.create(
        user=user, email=attempt.email, ip_address=attempt.ip, succeeded=False, reason=reason, at=now
    )
    _count(reason)
    publish(
        UserLoginFailed(
            user_id=user.id if user else None,
            email_attempted=attempt.email,
            ip_address=attempt.ip,
            user_agent=attempt.agent,
            reason=reason,
            door=attempt.door,
        )
    )


def password_failed(attempt: Attempt, *, user: User, now) -> None:
    """A wrong password for a known account: published, counted toward its lock and the address's
    stuffing guard."""
    failed(attempt, user=user, reason="bad_password", now=now)
    lockout.after_password_failure(user, attempt.ip, now)
    ip_rules.stuffing_guard(ip_address=attempt.ip, now=now)


def login(
    *,
    email: str,
    password: str,
    ip_address: str,
    user_agent: str,
    fingerprint: str | None = None,
    door: str = "api",
) -> SignedIn:
    attempt = Attempt(email=email.strip().lower(), ip=ip_address, agent=user_agent, door=door)
    outcome = _attempt(attempt, password=password, fingerprint=fingerprint)
    if outcome.error is not None:
        raise outcome.error()
    return outcome.signed_in


@transaction.atomic
def _attempt(attempt: Attempt, *, password: str, fingerprint: str | None) -> _Outcome:
    now = timezone.now()
    user = User.objects.select_for_update().filter(email=attempt.email).first()
    if ip_rules.address_refused(ip_address=attempt.ip, user=user, now=now):
        failed(attempt, user=user, reason="ip_blocked", now=now)
        ip_rules.refused_login_alert(ip_address=attempt.ip, user=user)
        return _Outcome(error=AddressRefused)
    if user is None:
        if lockout.unknown_email_locked(attempt.email):
            failed(attempt, user=None, reason="locked", now=now)
            return _Outcome(error=AccountLocked)
        check_password(password, _dummy_hash())
        lockout.after_unknown_email_failure(attempt.email)
        failed(attempt, user=None, reason="unknown_user", now=now)
        ip_rules.stuffing_guard(ip_address=attempt.ip, now=now)
        return _Outcome(error=InvalidCredentials)

    lockout.lapse_if_due(user, now)
    if lockout.lock_applies(user, attempt.ip, now):
        failed(attempt, user=user, reason="locked", now=now)
        return _Outcome(error=AccountLocked)
    if not user.check_password(password):
        password_failed(attempt, user=user, now=now)
        return _Outcome(error=InvalidCredentials)
    if not user.is_active:
        failed(attempt, user=user, reason="inactive", now=now)
        return _Outcome(error=InvalidCredentials)
    return accepted(attempt, user=user, fingerprint=fingerprint, now=now)


def accepted(
    attempt: Attempt, *, user: User, fingerprint: str | None, now, passkey: bool = False
) -> _Outcome:
    """The password (or, with `passkey`, a passkey verified by its user) was right: risk, the
    device, then the session. A passkey is phishing-resistant and two factors in one (possession
    and the user's verification), so risk counts it: its sign-in is never asked for another
    factor, where a high-risk password sign-in would be even on a trusted device; critical risk
    still locks the account."""
    ip, agent = attempt.ip, attempt.agent
    set_actor(Actor("user", str(user.id)))
    device, device_is_new = (None, False)
    if fingerprint:
        device, device_is_new = devices.device_seen(user=user, raw_fingerprint=fingerprint, user_agent=agent)
    assessment = risk.assess(user=user, ip_address=ip, device_is_new=device_is_new)
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

    has_mfa = mfa_devices.mfa_enabled(user)
    if assessment.level == "high" and not has_mfa and settings.IDENTITY["RISK_REFUSE_HIGH_WITHOUT_MFA"]:
        failed(attempt, user=user, reason="suspicious", now=now)
        return _Outcome(error=InvalidCredentials)
    trusted = device is not None and device.is_trusted(now)
    needs_mfa = not passkey and has_mfa and (not trusted or assessment.level == "high")
    must_enrol = (
        not passkey
        and attempt.door == "admin_site"
        and not has_mfa
        and settings.IDENTITY["ADMIN_REQUIRE_MFA"]
    )

    if user.lock_count and not user.lock_in_force(now):
        user.lock_count = 0
    user.last_login = now
    user.save(update_fields=["last_login", "lock_count"])
    started = session_start(
        user=user,
        ip_address=ip,
        user_agent=agent,
        requires_mfa=needs_mfa or must_enrol,
        session_type="passkey" if passkey else "password",
        mfa_used=passkey,
        device=device,
        with_tokens=attempt.door == "api",
    )
    if needs_mfa:
        challenge = mfa_challenges.challenge_start(user=user, session=started.session)
        _count("mfa_required")
        return _Outcome(signed_in=SignedIn(session=started.session, challenge=challenge))
    if must_enrol:
        _count("mfa_required")
        return _Outcome(signed_in=SignedIn(session=started.session, enrolment_required=True))
    _logged_in(
        started.session, mfa_used=passkey, door=attempt.door, method="passkey" if passkey else "password"
    )
    return _Outcome(signed_in=SignedIn(session=started.session, tokens=started.tokens))


def _logged_in(session: AuthSession, *, mfa_used: bool, door: str, method: str = "password") -> None:
    """The whole sign-in succeeded: only now is its address known for lockout and risk."""
    _count("succeeded")
    LoginAttempt.objects.create(
        user_id=session.user_id, email=session.user.email, ip_address=session.ip_address, succeeded=True
    )
    publish(
        UserLoggedIn(
            user_id=session.user_id,
            session_id=session.id,
            ip_address=session.ip_address or "",
            user_agent=session.user_agent,
            mfa_used=mfa_used,
            device_id=session.device_id,
            door=door,
            method=method,
        )
    )


def mfa_verify(
    *,
    challenge_id,
    code: str | None = None,
    credential: dict | None = None,
    remember_device: bool = False,
    door: str = "api",
) -> SignedIn:
    """The second step: a good code or passkey assertion opens the pending session (with tokens
    through the API)."""
    with mfa_challenges.challenge_story(challenge_id):
        challenge = mfa_challenges.challenge_verify(
            challenge_id=challenge_id, code=code, credential=credential
        )
        return _complete(challenge, remember_device, door)


def _complete(challenge: MFAChallenge, remember_device: bool, door: str) -> SignedIn:
    with transaction.atomic():
        session = _opened(challenge.session_id)
        tokens = tokens_issue(session=session) if door == "api" else None
        if remember_device and session.device is not None:
            devices.device_trust(device=Device.objects.select_for_update().get(pk=session.device_id))
        _logged_in(session, mfa_used=True, door=door)
    return SignedIn(session=session, tokens=tokens, challenge=challenge)


def _opened(session_id) -> AuthSession:
    session = (
        AuthSession.objects.select_for_update(of=("self",))
        .select_related("user", "device")
        .get(pk=session_id)
    )
    if session.status != AuthSession.Status.PENDING_MFA:
        raise mfa_challenges.ChallengeGone("The sign-in has ended: sign in again.")
    session.status, session.session_type, session.mfa_used = AuthSession.Status.ACTIVE, "mfa", True
    session.last_seen_at = session.authenticated_at = timezone.now()
    session.save(update_fields=["status", "session_type", "mfa_used", "last_seen_at", "authenticated_at"])
    return session


@transaction.atomic
def complete_after_enrolment(*, session: AuthSession) -> AuthSession:
    """Staff who enrolled their first second factor at the admin site: the pending session opens."""
    session = _opened(session.pk)
    _logged_in(session, mfa_used=True, door="admin_site")
    return session
