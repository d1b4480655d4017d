"""The second-factor challenge of a sign-in: opened after a good password, a device selected, a
code or a passkey's assertion verified, wrong codes counted toward the account's lock. The devices
are identity/services/mfa_devices.py; codes never enter an event or a log line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from identity.errors import AccountLocked, IdentityError, NotFound
from identity.events import (
    MFAChallengeCompleted,
    MFAChallengeFailed,
    MFAChallengeInitiated,
    MFAChallengeIssued,
    MFACodeVerificationFailed,
    MFADeviceSelected,
)
from identity.models import AuthSession, MFAChallenge, User
from identity.services import lockout, passkeys
from identity.services.alerts import security_alert_raise
from identity.services.mfa_devices import (
    device_accepting,
    device_by_key,
    device_key,
    method_of,
    second_factors,
)
from identity.services.sessions import session_end
from identity_project.eventbus.context import Actor, current_correlation_id, event_context
from identity_project.eventbus.publisher import publish


def challenge_start(*, user: User, session: AuthSession) -> MFAChallenge:
    """After a good password: open the challenge; with one device, it is selected at once."""
    devices = second_factors(user)
    challenge = MFAChallenge.objects.create(
        user=user,
        session=session,
        correlation_id=current_correlation_id(),
        expires_at=timezone.now() + timedelta(seconds=settings.IDENTITY["MFA_CHALLENGE_LIFETIME"]),
    )
    publish(
        MFAChallengeInitiated(
            challenge_id=challenge.id, user_id=user.id, session_id=session.id,
            available_methods=sorted({method_of(d) for d in devices}), expires_at=challenge.expires_at,
        )
    )  # fmt: skip
    if len(devices) == 1:
        _select(challenge, devices[0])
    return challenge


def challenge_methods(challenge: MFAChallenge) -> list[dict[str, str]]:
    return [{"device_id": device_key(d), "method": method_of(d)} for d in second_factors(challenge.user)]


def _select(challenge: MFAChallenge, device) -> None:
    challenge.device_id, challenge.method = device_key(device), method_of(device)
    challenge.save(update_fields=["device_id", "method"])
    common = {"challenge_id": challenge.id, "user_id": challenge.user_id, "device_id": challenge.device_id}
    publish(MFADeviceSelected(**common, method=challenge.method))
    # An e-mail code is generated and sent by identity's consumer of this event (identity/consumer.py).
    publish(
        MFAChallengeIssued(
            **common, session_id=challenge.session_id, method=challenge.method, issued_at=timezone.now()
        )
    )


class ChallengeGone(IdentityError):
    def __init__(self, message: str = "The challenge has expired or was already used.") -> None:
        super().__init__(message, code="challenge_gone", status_code=410)


def _pending(challenge_id) -> MFAChallenge:
    challenge = (
        MFAChallenge.objects.select_for_update()
        .select_related("session", "user")
        .filter(pk=challenge_id)
        .first()
    )
    if challenge is None:
        raise NotFound("No such challenge.")
    return challenge


@contextlib.contextmanager
def challenge_story(challenge_id) -> Iterator[None]:
    """Select and verify are requests of their own, but the same sign-in: they publish under the
    login's correlation id, as the user."""
    found = MFAChallenge.objects.filter(pk=challenge_id).values("correlation_id", "user_id").first()
    if found is None:
        raise NotFound("No such challenge.")
    with event_context(correlation_id=found["correlation_id"], actor=Actor("user", str(found["user_id"]))):
        yield


def challenge_select(*, challenge_id, device_id: str) -> MFAChallenge:
    with challenge_story(challenge_id):
        return _select_device(challenge_id=challenge_id, device_id=device_id)


@transaction.atomic
def _select_device(*, challenge_id, device_id: str) -> MFAChallenge:
    challenge = _pending(challenge_id)
    if challenge.status != MFAChallenge.Status.PENDING or challenge.expires_at <= timezone.now():
        raise ChallengeGone()
    device = device_by_key(challenge.user, device_id, confirmed=True)
    if method_of(device) == "static":
        raise IdentityError("Backup codes need no selection: send one to verify.", code="validation_error")
    _select(challenge, device)
    return challenge


def _publish_failed(challenge: MFAChallenge, reason: str) -> None:
    publish(
        MFAChallengeFailed(
            challenge_id=challenge.id, user_id=challenge.user_id, session_id=challenge.session_id,
            attempts=challenge.attempts, reason=reason,
        )
    )  # fmt: skip


def _fail(challenge: MFAChallenge, reason: str) -> None:
    """The terminal failure: the challenge fails and its pending session ends."""
    challenge.status, challenge.failure_reason = MFAChallenge.Status.FAILED, reason
    challenge.save(update_fields=["status", "failure_reason"])
    _publish_failed(challenge, reason)
    session_end(session=challenge.session, reason="mfa_failed")


def wrong_code_counted(*, user: User, ip_address: str | None, now) -> bool:
    """Count a wrong code toward the account's lock (across challenges, abandoned or not, and
    re-authentications); True when it locked the account."""
    if not lockout.after_second_factor_failure(user, ip_address, now):
        return False
    security_alert_raise(
        incident=f"mfa-burst:{user.id}",
        severity="high",
        category="mfa_failures",
        summary="Many wrong second-factor codes: the account is locked for a while.",
        user_id=user.id,
    )
    return True


@dataclass(frozen=True)
class Verification:
    """What _verify decided: committed first, raised after."""

    challenge: MFAChallenge
    error: IdentityError | None = None


def challenge_verify(
    *, challenge_id, code: str | None = None, credential: dict | None = None
) -> MFAChallenge:
    """A good code, or a passkey's assertion (`credential`), completes the challenge (the caller
    then opens the session). A wrong one is counted; the last allowed one fails the challenge and
    ends the pending session. Failures are committed before the error is raised."""
    outcome = _verify(challenge_id=challenge_id, code=code, credential=credential)
    if outcome.error is not None:
        raise outcome.error
    return outcome.challenge


@transaction.atomic
def _verify(*, challenge_id, code: str | None, credential: dict | None) -> Verification:
    challenge = _pending(challenge_id)
    now = timezone.now()
    if (
        challenge.status != MFAChallenge.Status.PENDING
        or challenge.session.status != AuthSession.Status.PENDING_MFA
    ):
        return Verification(challenge, ChallengeGone())
    if challenge.expires_at <= now:
        _fail(challenge, "expired")
        return Verification(challenge, ChallengeGone("The challenge has expired."))
    if lockout.lock_applies(challenge.user, challenge.session.ip_address, now):
        return Verification(challenge, AccountLocked())
    if credential is not None:
        device = passkeys.challenge_accepts(challenge=challenge, credential=credential)
    else:
        device = device_accepting(challenge.user, code, selected=challenge.device_id)
    if device is not None:
        challenge.status = MFAChallenge.Status.COMPLETED
        challenge.device_id, challenge.method = device_key(device), method_of(device)
        challenge.save(update_fields=["status", "device_id", "method"])
        publish(
            MFAChallengeCompleted(
                challenge_id=challenge.id, user_id=challenge.user_id, session_id=challenge.session_id,
                method=challenge.method, device_id=challenge.device_id,
            )
        )  # fmt: skip
        return Verification(challenge)
    challenge.attempts += 1
    challenge.save(update_fields=["attempts"])
    publish(
        MFACodeVerificationFailed(
            user_id=challenge.user_id, device_id=challenge.device_id or "any",
            method=challenge.method or "any", context="challenge", failure_count=challenge.attempts,
        )
    )  # fmt: skip
    locked = wrong_code_counted(user=challenge.user, ip_address=challenge.session.ip_address, now=now)
    left = settings.IDENTITY["MFA_MAX_ATTEMPTS"] - challenge.attempts
    if locked or left <= 0:
        _fail(challenge, "too_many_attempts")
        if locked:
            return Verification(challenge, AccountLocked())
        return Verification(challenge, ChallengeGone("Too many wrong codes: sign in again."))
    _publish_failed(challenge, "invalid_code")
    return Verification(
        challenge,
        IdentityError("The code is wrong.", code="invalid_code", fields={"attempts_left": [str(left)]}),
    )


@transaction.atomic
def challenge_delivery_failed(*, challenge_id) -> None:
    """The compensation of an e-mail code that could not be sent: the challenge and its session end."""
    challenge = _pending(challenge_id)
    if challenge.status == MFAChallenge.Status.PENDING:
        _fail(challenge, "delivery_failed")
