"""Passkeys at the admin site's door (identity/admin_door.py): the page's options and the form
that brings back the browser's credential.

The page embeds the WebAuthn options (json_script) and a small script hands them to
`navigator.credentials` and posts the credential's `toJSON()` in a hidden field; the door then
verifies it through the same services as the API (second factor, enrolment).
"""

from __future__ import annotations

import json

from django import forms

from identity.models import MFAChallenge, User, WebAuthnDevice
from identity.services import passkeys
from identity.services.passkey_enrolment import creation_options

# A credential's toJSON() is a few kilobytes at most; the body limit (64 KiB) stands behind this.
CREDENTIAL_MAX = 16_000


class PasskeyForm(forms.Form):
    credential = forms.CharField(max_length=CREDENTIAL_MAX, widget=forms.HiddenInput)

    def clean_credential(self) -> dict:
        try:
            credential = json.loads(self.cleaned_data["credential"])
        except ValueError as exc:
            raise forms.ValidationError("The passkey's answer could not be read.") from exc
        if not isinstance(credential, dict) or not credential:
            raise forms.ValidationError("The passkey's answer could not be read.")
        return credential


def answered(request) -> PasskeyForm | None:
    """The posted passkey form, when the page's script sent a credential."""
    if request.method != "POST" or "credential" not in request.POST:
        return None
    return PasskeyForm(request.POST)


def request_context(challenge: MFAChallenge) -> dict:
    """The verify page offers a passkey when the user has one: fresh request options."""
    if not WebAuthnDevice.objects.filter(user=challenge.user, confirmed=True).exists():
        return {}
    return {"passkey_options": passkeys.challenge_options(challenge=challenge), "passkey_mode": "get"}


def creation_context(user: User, pending: dict) -> dict:
    """The enrol page offers a passkey beside the authenticator app: fresh creation options for
    the pending passkey (kept in the door's pending step, like the TOTP device)."""
    device = WebAuthnDevice.objects.get(user=user, pk=pending["passkey"].partition("-")[2])
    return {"passkey_options": creation_options(user=user, device=device), "passkey_mode": "create"}
