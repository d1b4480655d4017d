"""Helpers of the passkey tests: the relying party they run as, and enrolment and the second
factor through the API with a software authenticator (tests/support/soft_authenticator.py)."""

from __future__ import annotations

from webauthn.helpers import bytes_to_base64url

from identity.models import User, WebAuthnDevice
from tests.identity.support import api, bearer, login
from tests.support.soft_authenticator import SoftAuthenticator

RP_ID, ORIGIN = "id.example.test", "https://id.example.test"


def begin(client, name: str = "laptop"):
    return client.post("/api/v1/me/mfa/devices", {"method": "webauthn", "name": name}, format="json")


def confirm(client, device_id: str, credential: dict):
    return client.post(
        f"/api/v1/me/mfa/devices/{device_id}/verify", {"credential": credential}, format="json"
    )


def enrol_passkey(user: User, authenticator: SoftAuthenticator, name: str = "laptop") -> WebAuthnDevice:
    """Through the API, signed in with the password (the user has no second factor yet)."""
    client = bearer(login(api(), user.email).json()["access"])
    started = begin(client, name).json()
    confirmed = confirm(client, started["device_id"], authenticator.create(started["options"]))
    assert confirmed.status_code == 204, confirmed.content
    return WebAuthnDevice.objects.get(pk=started["device_id"].removeprefix("webauthn-"))


def select(challenge_id, device_id: str):
    return api().post(
        "/api/v1/auth/mfa/select", {"challenge_id": challenge_id, "device_id": device_id}, format="json"
    )


def verify(challenge_id, credential: dict):
    return api().post(
        "/api/v1/auth/mfa/verify", {"challenge_id": challenge_id, "credential": credential}, format="json"
    )


def b64(raw: bytes) -> str:
    return bytes_to_base64url(raw)
