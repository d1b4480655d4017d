"""Passkeys (WebAuthn, verified by Duo's py_webauthn): the options a browser is given and the one
check of an assertion that every door uses (a sign-in's second factor, a sign-in without a
password, a re-authentication); enrolment is identity/services/passkey_enrolment.py.

Options are answered in the WebAuthn Level 3 JSON form (what `parseCreationOptionsFromJSON` and
`parseRequestOptionsFromJSON` read) and credentials are taken in their `toJSON()` form. Every
options answer is a `WebAuthnCeremony`: its challenge is taken once (whatever the outcome) and
only before it expires; the ceremony an answer is for is found by the challenge the browser signed
(clientDataJSON), so a credential names its own ceremony and a replay finds it spent.

Nothing of a credential but its device name (`webauthn-<pk>`) enters an event or a log line: no
credential id, public key, attestation object, client data or signature.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from webauthn import generate_authentication_options, verify_authentication_response
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    generate_challenge,
    options_to_json_dict,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    UserVerificationRequirement,
)

from identity.errors import IdentityError
from identity.models import MFAChallenge, User, WebAuthnCeremony, WebAuthnDevice
from identity.models.passkeys import credential_hash
from identity.services.alerts import security_alert_raise

METHOD = "webauthn"
Purpose = WebAuthnCeremony.Purpose
# What a malformed credential raises inside py_webauthn besides its own errors (base64 and CBOR
# decoding, missing members): a refusal, never a 500.
REFUSED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


class CeremonyGone(IdentityError):
    def __init__(self, message: str = "The passkey options have expired or were already used.") -> None:
        super().__init__(message, code="challenge_gone", status_code=410)


def device_key(device: WebAuthnDevice) -> str:
    return f"{METHOD}-{device.pk}"


def descriptors(devices) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=bytes(d.credential_id),
            transports=[AuthenticatorTransport(t) for t in d.transports if t in known],
        )
        for d in devices
    ]


def ceremony_open(*, purpose: str, user: User | None = None, **links) -> tuple[WebAuthnCeremony, bytes]:
    """A new single-use challenge; ceremonies past their expiry are removed on the way (they can
    no longer be answered, and are kept for nothing)."""
    now = timezone.now()
    WebAuthnCeremony.objects.filter(expires_at__lt=now).delete()
    challenge = generate_challenge()
    ceremony = WebAuthnCeremony.objects.create(
        purpose=purpose,
        challenge=bytes_to_base64url(challenge),
        user=user,
        expires_at=now + timedelta(seconds=settings.WEBAUTHN_CEREMONY_SECONDS),
        **links,
    )
    return ceremony, challenge


def signed_challenge(credential: dict) -> str | None:
    """The challenge (base64url) in the credential's clientDataJSON, or None when unreadable."""
    try:
        client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
        challenge = client_data["challenge"]
    except REFUSED:
        return None
    return challenge if isinstance(challenge, str) and len(challenge) <= 128 else None


def ceremony_take(credential: dict, *, purpose: str, **match) -> WebAuthnCeremony | None:
    """The ceremony whose challenge the credential signed, spent now (in the caller's
    transaction); None when there is none, it was spent already or it has expired."""
    challenge = signed_challenge(credential)
    if challenge is None:
        return None
    ceremony = (
        WebAuthnCeremony.objects.select_for_update()
        .filter(challenge=challenge, purpose=purpose, **match)
        .first()
    )
    if ceremony is None or ceremony.used_at is not None:
        return None
    now = timezone.now()
    ceremony.used_at = now
    ceremony.save(update_fields=["used_at"])
    return ceremony if ceremony.expires_at > now else None


# --- assertions ------------------------------------------------------------------------------


def request_options(challenge: bytes, *, devices=(), user_verification: str) -> dict:
    options = generate_authentication_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        challenge=challenge,
        timeout=settings.WEBAUTHN_CEREMONY_SECONDS * 1000,
        allow_credentials=descriptors(devices),
        user_verification=UserVerificationRequirement(user_verification),
    )
    return options_to_json_dict(options)


def _raw_id(credential: dict) -> bytes | None:
    raw_id = credential.get("rawId")
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        return None
    try:
        return base64url_to_bytes(raw_id)
    except REFUSED:
        return None


def credential_device(credential: dict, devices: QuerySet | None = None) -> WebAuthnDevice | None:
    """The confirmed passkey the credential names (its row locked), among `devices` if given;
    nothing is verified yet."""
    raw_id = _raw_id(credential)
    if raw_id is None:
        return None
    devices = WebAuthnDevice.objects.all() if devices is None else devices
    return (
        devices.select_for_update()
        .select_related("user")
        .filter(credential_id_hash=credential_hash(raw_id), confirmed=True)
        .first()
    )


def assertion_verify(
    credential: dict, *, ceremony: WebAuthnCeremony, device: WebAuthnDevice, require_user_verification: bool
) -> bool:
    """Whether the device's key signed the ceremony's challenge, for our RP id, from one of our
    origins, with the user present (and verified, where required). A signature counter that did
    not move forward on a good signature betrays a cloned authenticator: refused, and a
    SecurityAlertRaised (high) for the user and the admins. The counter is kept on success."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(ceremony.challenge),
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=list(settings.WEBAUTHN_ORIGINS),
            credential_public_key=bytes(device.public_key),
            # The counter is compared below, after the signature: only a good signature with a
            # stale counter is a clone (py_webauthn's own check cannot tell it from a bad one).
            credential_current_sign_count=0,
            require_user_verification=require_user_verification,
        )
    except REFUSED:
        return False
    if not _user_handle_matches(credential, device):
        return False
    if (verified.new_sign_count or device.sign_count) and verified.new_sign_count <= device.sign_count:
        security_alert_raise(
            incident=f"cloned-passkey:{device.pk}",
            severity="high",
            category="cloned_authenticator",
            summary=(
                f"The signature counter of passkey {device_key(device)} went backwards: the "
                "authenticator may have been cloned. The sign-in was refused."
            ),
            user_id=device.user_id,
        )
        return False
    device.sign_count, device.backed_up = verified.new_sign_count, verified.credential_backed_up
    device.last_used_at = timezone.now()
    device.save(update_fields=["sign_count", "backed_up", "last_used_at"])
    return True


def _user_handle_matches(credential: dict, device: WebAuthnDevice) -> bool:
    """A discoverable credential returns the user handle it was made for: it must be its owner's."""
    handle = credential.get("response", {}).get("userHandle")
    if not handle:
        return True
    try:
        return base64url_to_bytes(handle) == device.user.id.bytes
    except REFUSED:
        return False


# --- the second factor of a sign-in ----------------------------------------------------------


@transaction.atomic
def challenge_options(*, challenge: MFAChallenge) -> dict:
    """Request options for a sign-in's challenge: for the passkey it selected, else (the admin
    site offers a passkey beside the code field, selecting nothing) for any of the user's."""
    devices = WebAuthnDevice.objects.filter(user=challenge.user, confirmed=True)
    if challenge.device_id.startswith(f"{METHOD}-"):
        devices = devices.filter(pk=int(challenge.device_id.partition("-")[2]))
    _, raw = ceremony_open(purpose=Purpose.SECOND_FACTOR, user=challenge.user, mfa_challenge=challenge)
    return request_options(raw, devices=devices, user_verification="preferred")


def challenge_accepts(*, challenge: MFAChallenge, credential: dict) -> WebAuthnDevice | None:
    """Inside the challenge's transaction: the selected passkey, when it answered options of this
    challenge; user verification is preferred, not required (the password came first)."""
    ceremony = ceremony_take(credential, purpose=Purpose.SECOND_FACTOR, mfa_challenge=challenge)
    devices = WebAuthnDevice.objects.filter(user=challenge.user)
    if challenge.device_id.startswith(f"{METHOD}-"):
        devices = devices.filter(pk=int(challenge.device_id.partition("-")[2]))
    device = credential_device(credential, devices) if ceremony is not None else None
    if device is None:
        return None
    ok = assertion_verify(credential, ceremony=ceremony, device=device, require_user_verification=False)
    return device if ok else None


# --- a proof without a password (sign-in, re-authentication) ---------------------------------


@transaction.atomic
def sign_in_options() -> tuple[WebAuthnCeremony, dict]:
    """Options for a discoverable passkey: no allowed credentials (the browser offers the user's
    own), user verification required (the passkey is the only factor)."""
    ceremony, raw = ceremony_open(purpose=Purpose.SIGN_IN)
    return ceremony, request_options(raw, user_verification="required")


def reauthentication_accepts(*, user: User, credential: dict) -> WebAuthnDevice | None:
    """Inside the re-authentication's transaction: one of the user's passkeys, verified by the
    user, answering options of `auth/passkey/options`."""
    ceremony = ceremony_take(credential, purpose=Purpose.SIGN_IN)
    device = credential_device(credential, WebAuthnDevice.objects.filter(user=user)) if ceremony else None
    if device is None:
        return None
    ok = assertion_verify(credential, ceremony=ceremony, device=device, require_user_verification=True)
    return device if ok else None
