"""The second factor (django-otp): TOTP, e-mail codes, backup codes and passkeys (their WebAuthn
ceremonies are identity/services/passkeys.py); enrolment and the challenge of a sign-in. Codes
and secrets never enter an event or a log line.

MFA devices are named `<method>-<pk>` (e.g. `totp-3`) in the API and in events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity.errors import AccountLocked, IdentityError, NotFound
from identity.events import (
    MFABackupCodesGenerated,
    MFAChallengeCompleted,
    MFAChallengeFailed,
    MFAChallengeInitiated,
    MFAChallengeIssued,
    MFACodeVerificationFailed,
    MFADeviceCreated,
    MFADeviceDisabled,
    MFADeviceSelected,
    MFADeviceVerified,
)
from identity.models import AuthSession, MFAChallenge, User, WebAuthnDevice
from identity.services import lockout, passkeys
from identity.services.alerts import security_alert_raise
from identity.services.sessions import session_end
from identity_project.eventbus.context import Actor, current_correlation_id, event_context
from identity_project.eventbus.publisher import publish

MODELS = {"totp": TOTPDevice, "email": EmailDevice, "static": StaticDevice, "webauthn": WebAuthnDevice}


def device_key(device) -> str:
    method = next(name for name, model in MODELS.items() if isinstance(device, model))
    return f"{method}-{device.pk}"


def method_of(device) -> str:
    return device_key(device).split("-", 1)[0]


def device_by_key(user: User, key: str, *, confirmed: bool | None = None):
    method, _, pk = key.partition("-")
    model = MODELS.get(method)
    if model is None or not pk.isdigit():
        raise NotFound("No such MFA device.")
    devices = model.objects.filter(user=user, pk=int(pk))
    if confirmed is not None:
        devices = devices.filter(confirmed=confirmed)
    device = devices.first()
    if device is None:
        raise NotFound("No such MFA device.")
    return device


def second_factors(user: User) -> list:
    """Confirmed TOTP, e-mail and passkey devices: what a sign-in can be challenged with."""
    return [
        *TOTPDevice.objects.filter(user=user, confirmed=True),
        *EmailDevice.objects.filter(user=user, confirmed=True),
        *WebAuthnDevice.objects.filter(user=user, confirmed=True),
    ]


def mfa_enabled(user: User) -> bool:
    return bool(second_factors(user))


# --- enrolment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    method: str
    otpauth_uri: str | None


@transaction.atomic
def mfa_device_create(*, user: User, method: str) -> Enrolment:
    """Start enrolling; a first good code confirms it. An e-mail device is sent its code by
    identity's consumer, on MFADeviceCreated."""
    if method == "totp":
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    elif method == "email":
        device = EmailDevice.objects.create(user=user, name="e-mail", confirmed=False)
    else:
        raise IdentityError(
            "method is totp or email.", code="validation_error", fields={"method": ["Unknown."]}
        )
    key = device_key(device)
    publish(MFADeviceCreated(user_id=user.id, device_id=key, method=method))
    return Enrolment(
        device_id=key, method=method, otpauth_uri=device.config_url if method == "totp" else None
    )


def _failed_code(*, user: User, device, context: str, failures: int) -> None:
    publish(
        MFACodeVerificationFailed(
            user_id=user.id, device_id=device_key(device), method=method_of(device), context=context,
            failure_count=failures,
        )
    )  # fmt: skip


def mfa_device_verify(*, user: User, device_id: str, code: str) -> str:
    """Confirm an enrolment with a good code (MFADeviceVerified); a wrong code is a 400."""
    with transaction.atomic():
        device = device_by_key(user, device_id, confirmed=False)
        if device.verify_token(code):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            publish(MFADeviceVerified(user_id=user.id, device_id=device_id, method=method_of(device)))
            return device_id
        device.refresh_from_db()
        _failed_code(user=user, device=device, context="enrolment", failures=device.throttling_failure_count)
    raise IdentityError("The code is wrong.", code="invalid_code")


@transaction.atomic
def mfa_device_disable(*, user: User, device_id: str, reason: str = "user") -> None:
    device = device_by_key(user, device_id)
    method = method_of(device)
    device.delete()
    publish(MFADeviceDisabled(user_id=user.id, device_id=device_id, method=method, reason=reason))


@transaction.atomic
def mfa_reset(*, user: User) -> int:
    """An admin removes every second factor of a user (who then enrols again)."""
    devices = [
        *TOTPDevice.objects.filter(user=user),
        *EmailDevice.objects.filter(user=user),
        *StaticDevice.objects.filter(user=user),
        *WebAuthnDevice.objects.filter(user=user),
    ]
    for device in devices:
        mfa_device_disable(user=user, device_id=device_key(device), reason="admin")
    return len(devices)


@transaction.atomic
def backup_codes_generate(*, user: User) -> list[str]:
    """New single-use backup codes, shown once; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="backup", defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.IDENTITY["BACKUP_CODES"])]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    publish(MFABackupCodesGenerated(user_id=user.id, device_id=device_key(device), count=len(codes)))
    return codes


# --- the challenge of a sign-in --------------------------------------------------------------


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


def device_accepting(user: User, code: str, *, selected: str = ""):
    """The confirmed device of the user that the code is good for, or None: the device a challenge
    selected (else any second factor, as a re-authentication takes), or a backup code."""
    first = [device_by_key(user, selected, confirmed=True)] if selected else second_factors(user)
    candidates = [*first, *StaticDevice.objects.filter(user=user, confirmed=True)]
    return next((device for device in candidates if device.verify_token(code)), None)


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
