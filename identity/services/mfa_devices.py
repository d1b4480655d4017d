"""The second factors (django-otp): TOTP, e-mail codes, backup codes and passkeys (their WebAuthn
ceremonies are identity/services/passkeys.py): finding a user's devices, enrolling, confirming and
removing them, and which device a code is good for. Codes and secrets never enter an event or a
log line.

MFA devices are named `<method>-<pk>` (e.g. `totp-3`) in the API and in events.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity.errors import IdentityError, NotFound
from identity.events import (
    MFABackupCodesGenerated,
    MFACodeVerificationFailed,
    MFADeviceCreated,
    MFADeviceDisabled,
    MFADeviceVerified,
)
from identity.models import User, WebAuthnDevice
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


SECOND_FACTORS = (TOTPDevice, EmailDevice, WebAuthnDevice)


def second_factors(user: User) -> list:
    """Confirmed TOTP, e-mail and passkey devices: what a sign-in can be challenged with."""
    return [device for model in SECOND_FACTORS for device in model.objects.filter(user=user, confirmed=True)]


def mfa_enabled(user: User) -> bool:
    """Whether the user has a second factor: one query over the three tables (every sign-in asks,
    and most users have none)."""
    confirmed = [model.objects.filter(user=user, confirmed=True).values("pk") for model in SECOND_FACTORS]
    return confirmed[0].union(*confirmed[1:], all=True).exists()


def device_accepting(user: User, code: str, *, selected: str = ""):
    """The confirmed device of the user that the code is good for, or None: the device a challenge
    selected (else any second factor, as a re-authentication takes), or a backup code."""
    first = [device_by_key(user, selected, confirmed=True)] if selected else second_factors(user)
    candidates = [*first, *StaticDevice.objects.filter(user=user, confirmed=True)]
    return next((device for device in candidates if device.verify_token(code)), None)


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
