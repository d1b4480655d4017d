"""Enrolling a passkey: the creation options, then the browser's registration response, which
confirms the device (django-otp's, named `webauthn-<pk>`). Only public material is kept (the
credential id, its COSE public key, the counter); the attestation object is verified and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from webauthn import generate_registration_options, verify_registration_response
from webauthn.helpers import base64url_to_bytes, options_to_json_dict
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from identity.errors import Conflict, IdentityError, NotFound
from identity.events import MFACodeVerificationFailed, MFADeviceCreated, MFADeviceVerified
from identity.models import User, WebAuthnDevice
from identity.services.passkeys import (
    METHOD,
    REFUSED,
    CeremonyGone,
    Purpose,
    ceremony_open,
    ceremony_take,
    descriptors,
    device_key,
)
from identity_project.eventbus.publisher import publish


@dataclass(frozen=True)
class PasskeyEnrolment:
    device_id: str
    options: dict


@transaction.atomic
def passkey_enrol_begin(*, user: User, name: str = "") -> PasskeyEnrolment:
    """Start enrolling a passkey: an unconfirmed device (MFADeviceCreated) and its creation
    options."""
    device = WebAuthnDevice.objects.create(user=user, name=name or "passkey", confirmed=False)
    key = device_key(device)
    publish(MFADeviceCreated(user_id=user.id, device_id=key, method=METHOD))
    return PasskeyEnrolment(device_id=key, options=creation_options(user=user, device=device))


def creation_options(*, user: User, device: WebAuthnDevice) -> dict:
    """Fresh creation options for a pending device (a page shown again asks anew). Discoverable
    credentials are required (every passkey can then sign in without a password), user
    verification preferred (required later where a passkey is the only factor)."""
    _, challenge = ceremony_open(purpose=Purpose.REGISTRATION, user=user, device=device)
    options = generate_registration_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_name=user.email,
        # The user handle: opaque, the account's id, never the e-mail.
        user_id=user.id.bytes,
        user_display_name=user.full_name or user.email,
        challenge=challenge,
        timeout=settings.WEBAUTHN_CEREMONY_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=descriptors(WebAuthnDevice.objects.filter(user=user, confirmed=True)),
    )
    # credProps tells whether the authenticator kept the credential (discoverable).
    return {**options_to_json_dict(options), "extensions": {"credProps": True}}


def pending_device(user: User, device_id: str) -> WebAuthnDevice:
    method, _, pk = device_id.partition("-")
    device = None
    if method == METHOD and pk.isdigit():
        device = WebAuthnDevice.objects.filter(user=user, pk=int(pk), confirmed=False).first()
    if device is None:
        raise NotFound("No such MFA device.")
    return device


def passkey_enrol_complete(*, user: User, device_id: str, credential: dict) -> str:
    """Confirm the enrolment with the browser's registration response (MFADeviceVerified). A
    response that does not verify is refused (400 invalid_credential, MFACodeVerificationFailed
    committed first) and its options are spent: enrolment starts again."""
    error = _enrol_complete(user=user, device_id=device_id, credential=credential)
    if error is not None:
        raise error
    return device_id


@transaction.atomic
def _enrol_complete(*, user: User, device_id: str, credential: dict) -> IdentityError | None:
    device = pending_device(user, device_id)
    ceremony = ceremony_take(credential, purpose=Purpose.REGISTRATION, device=device)
    if ceremony is None:
        return CeremonyGone("The enrolment's options have expired or were used: enrol again.")
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(ceremony.challenge),
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=list(settings.WEBAUTHN_ORIGINS),
        )
    except REFUSED:
        # One failure per refused registration: its options are spent, so there is no second try.
        publish(
            MFACodeVerificationFailed(
                user_id=user.id, device_id=device_id, method=METHOD, context="enrolment", failure_count=1
            )
        )
        return IdentityError("The passkey's registration was not accepted.", code="invalid_credential")
    device.set_credential_id(verified.credential_id)
    device.public_key = verified.credential_public_key
    device.sign_count = verified.sign_count
    device.aaguid = str(verified.aaguid)
    device.backed_up = verified.credential_backed_up
    device.transports = _transports(credential)
    device.discoverable = _discoverable(credential)
    device.confirmed = True
    # The credential's unique hash decides, also between two enrolments confirming it at once.
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError:
        return Conflict("This passkey is registered already.", code="passkey_registered")
    publish(MFADeviceVerified(user_id=user.id, device_id=device_id, method=METHOD))
    return None


def _transports(credential: dict) -> list[str]:
    transports = credential.get("response", {}).get("transports", [])
    return [t for t in transports if isinstance(t, str)][:8] if isinstance(transports, list) else []


def _discoverable(credential: dict) -> bool | None:
    results = credential.get("clientExtensionResults")
    props = results.get("credProps") if isinstance(results, dict) else None
    kept = props.get("rk") if isinstance(props, dict) else None
    return kept if isinstance(kept, bool) else None
