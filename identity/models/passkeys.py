"""Passkeys: WebAuthn credentials as django-otp devices, and the options challenges they answer.

A credential is a django-otp `Device`, so django-otp's machinery (`devices_for_user`, the admin
site's `otp_login` and `is_verified()`), our device listing and the `<method>-<pk>` names see it
like a TOTP device. Only public material is kept: the credential id, its COSE public key and the
authenticator's signature counter; the private key never leaves the authenticator, and the
attestation object is verified and dropped.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_otp.models import Device


def credential_hash(credential_id: bytes) -> str:
    """The lookup key of a credential id (which may be up to 1023 bytes: too long to index)."""
    return hashlib.sha256(credential_id).hexdigest()


class WebAuthnDevice(Device):
    """One passkey of a user; unconfirmed (no credential yet) until its registration verifies.

    A passkey answers a challenge with a signature, never a typed code, so django-otp's
    `verify_token` (inherited: always False) refuses every code: a code path never accepts it.
    """

    credential_id = models.BinaryField(max_length=1023, null=True, editable=False)
    credential_id_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    public_key = models.BinaryField(max_length=1023, null=True, editable=False)
    # The authenticator's counter: one that goes backwards betrays a cloned authenticator.
    sign_count = models.PositiveBigIntegerField(default=0, editable=False)
    transports = models.JSONField(default=list, blank=True, editable=False)
    aaguid = models.CharField(max_length=36, blank=True, editable=False)
    # Whether the authenticator keeps the credential (a passkey that can sign in without a
    # password); None when the browser did not say.
    discoverable = models.BooleanField(null=True, editable=False)
    backed_up = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "passkey"

    def set_credential_id(self, credential_id: bytes) -> None:
        self.credential_id = credential_id
        self.credential_id_hash = credential_hash(credential_id)


class WebAuthnCeremony(models.Model):
    """The challenge of one WebAuthn options answer: single-use (`used_at`), and answered only
    until `expires_at`. A registration names the device it confirms; a second factor names its
    sign-in's MFA challenge; a sign-in without a password names nobody (the credential does)."""

    class Purpose(models.TextChoices):
        REGISTRATION = "registration", "Registration"
        SECOND_FACTOR = "second_factor", "Second factor"
        SIGN_IN = "sign_in", "Sign-in without a password"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    # base64url of the random challenge bytes, as the browser echoes it in clientDataJSON.
    challenge = models.CharField(max_length=128, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    device = models.ForeignKey(
        WebAuthnDevice, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    mfa_challenge = models.ForeignKey(
        "identity.MFAChallenge", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="webauthn_ceremony_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.id}"
