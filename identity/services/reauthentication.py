"""Re-authentication ("sudo mode"): a signed-in user proves again who they are before a sensitive
change, so a stolen access token alone cannot make one.

A proof is a password, a second-factor code or a passkey's assertion (answering the options of
`auth/passkey/options`, verified by its user, one of the session's user's passkeys). Guessing
through a signed-in session is treated as guessing at the sign-in: a wrong password is a failed
sign-in through the `reauthentication` door (UserLoginFailed, a LoginAttempt, the account's lock),
a wrong code or refused assertion a failed step-up (MFACodeVerificationFailed, the second-factor
lock), and a lock in force is answered before anything is checked. Failures are committed first,
then raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from identity.errors import AccountLocked, IdentityError, InvalidCode, InvalidCredentials
from identity.events import MFACodeVerificationFailed, UserReauthenticated
from identity.models import AuthSession, User
from identity.services import lockout, mfa_challenges, mfa_devices, passkeys
from identity.services.login import Attempt, failed, password_failed
from identity.services.passkey_login import PasskeyRefused
from identity_project.eventbus.publisher import publish

DOOR = "reauthentication"


@dataclass(frozen=True)
class Proof:
    """Where a proof comes from: the session it is for and the request's address and agent."""

    session: AuthSession
    ip: str
    agent: str


@dataclass(frozen=True)
class _Outcome:
    method: str | None = None
    error: IdentityError | None = None


def session_reauthenticate(
    *, proof: Proof, password: str | None = None, code: str | None = None, credential: dict | None = None
) -> str:
    """Exactly one of `password`, `code` and `credential`; the method that proved it (password,
    totp, email, static, webauthn), or the error, raised once the failure is committed."""
    outcome = _reauthenticate(proof, password=password, code=code, credential=credential)
    if outcome.error is not None:
        raise outcome.error
    return outcome.method


@transaction.atomic
def _reauthenticate(
    proof: Proof, *, password: str | None, code: str | None, credential: dict | None
) -> _Outcome:
    now = timezone.now()
    user = account_for_update(proof.session)
    if password is not None:
        error = password_check(proof, user=user, password=password, now=now)
        if error is not None:
            return _Outcome(error=error)
        method = "password"
    elif credential is not None:
        if locked_out(user, proof.ip, now):
            return _Outcome(error=AccountLocked())
        if passkeys.reauthentication_accepts(user=user, credential=credential) is None:
            _wrong_code(proof, user=user, now=now, method=passkeys.METHOD)
            return _Outcome(error=PasskeyRefused())
        method = passkeys.METHOD
    else:
        if locked_out(user, proof.ip, now):
            return _Outcome(error=AccountLocked())
        device = mfa_devices.device_accepting(user, code)
        if device is None:
            _wrong_code(proof, user=user, now=now)
            return _Outcome(error=InvalidCode())
        method = mfa_devices.method_of(device)
    session_reauthenticated(proof.session, method=method, now=now)
    return _Outcome(method=method)


def account_for_update(session: AuthSession) -> User:
    """The session's user, its row locked: concurrent guesses are counted one after another."""
    return User.objects.select_for_update().get(pk=session.user_id)


def locked_out(user: User, ip_address: str, now: datetime) -> bool:
    lockout.lapse_if_due(user, now)
    return lockout.lock_applies(user, ip_address, now)


def password_check(proof: Proof, *, user: User, password: str, now: datetime) -> IdentityError | None:
    """The password step of a proof, inside the caller's transaction: None when it is the user's;
    else the error to raise after commit, the attempt published and recorded (a lock in force:
    423, the password unchecked; a wrong one: 401, counted toward the lock)."""
    attempt = Attempt(email=user.email, ip=proof.ip, agent=proof.agent, door=DOOR)
    if locked_out(user, proof.ip, now):
        failed(attempt, user=user, reason="locked", now=now)
        return AccountLocked()
    if not user.check_password(password):
        password_failed(attempt, user=user, now=now)
        return InvalidCredentials("The password is wrong.")
    return None


def _wrong_code(proof: Proof, *, user: User, now: datetime, method: str = "any") -> None:
    mfa_challenges.wrong_code_counted(user=user, ip_address=proof.ip, now=now)
    publish(
        MFACodeVerificationFailed(
            user_id=user.id, device_id="any", method=method, context="step_up",
            failure_count=lockout.second_factor_failures(user, now),
        )
    )  # fmt: skip


def session_reauthenticated(session: AuthSession, *, method: str, now: datetime) -> None:
    """The proof was good: the session may make sensitive changes for REAUTH_SECONDS."""
    session.authenticated_at = now
    session.save(update_fields=["authenticated_at"])
    publish(UserReauthenticated(user_id=session.user_id, session_id=session.id, method=method))
