"""A software WebAuthn authenticator for the tests: real P-256 keys and ECDSA signatures.

It plays the browser and the authenticator together: it reads options in the WebAuthn Level 3
JSON form (what the API answers) and returns the credential in its `toJSON()` form, with
"none" attestation. `soft-webauthn` from the registry reads the options as bytes (not the L3
JSON), cannot leave out user verification nor make a counter go backwards, and pins fido2 < 2,
so this one is ours, on `cryptography` and `cbor2` (both brought by py_webauthn).

Every secret it makes (the private key, the attestation object, each signature) is recorded for
the run's secrets scan (tests/recording): none may appear in an event, a log line or a webhook.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40


def _secret(value: str) -> None:
    from tests.recording.records import record

    record("secrets", value)


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )


@dataclass
class SoftAuthenticator:
    """Holds the credentials it made; `origin` is where the "browser" runs."""

    origin: str
    credentials: list[Credential] = field(default_factory=list)

    def create(
        self, options: dict, *, origin: str | None = None, uv: bool = True, up: bool = True, reuse=None
    ) -> dict:
        """navigator.credentials.create(): a new discoverable credential for the options' RP and
        user (with `reuse`, that credential's id and key again, as a misbehaving one would)."""
        credential = Credential(
            credential_id=reuse.credential_id if reuse else os.urandom(32),
            key=reuse.key if reuse else ec.generate_private_key(ec.SECP256R1()),
            rp_id=options["rp"]["id"],
            user_handle=base64url_to_bytes(options["user"]["id"]),
        )
        _secret(bytes_to_base64url(credential.key.private_numbers().private_value.to_bytes(32, "big")))
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = (
            bytes(16) + struct.pack(">H", len(credential.credential_id)) + credential.credential_id
        ) + credential.cose_public_key()
        flags = AT | (UP if up else 0) | (UV if uv else 0)
        auth_data = self._rp_hash(credential.rp_id) + bytes([flags]) + struct.pack(">I", 0) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        _secret(bytes_to_base64url(attestation))
        self.credentials.append(credential)
        encoded_id = bytes_to_base64url(credential.credential_id)
        return {
            "id": encoded_id,
            "rawId": encoded_id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {"credProps": {"rk": True}},
        }

    def get(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        up: bool = True,
        uv: bool = True,
        counter: int | None = None,
        credential: Credential | None = None,
    ) -> dict:
        """navigator.credentials.get(): an assertion by an allowed credential (or, with none
        listed, a discoverable one). `counter` sets the signature counter (a clone's)."""
        credential = credential or self._pick(options)
        credential.sign_count = credential.sign_count + 1 if counter is None else counter
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        flags = (UP if up else 0) | (UV if uv else 0)
        auth_data = (
            self._rp_hash(rp_id or credential.rp_id)
            + bytes([flags])
            + struct.pack(">I", credential.sign_count)
        )
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        _secret(bytes_to_base64url(signature))
        encoded_id = bytes_to_base64url(credential.credential_id)
        return {
            "id": encoded_id,
            "rawId": encoded_id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(credential.user_handle),
            },
            "clientExtensionResults": {},
        }

    def _pick(self, options: dict) -> Credential:
        allowed = {base64url_to_bytes(c["id"]) for c in options.get("allowCredentials", [])}
        return next(
            c
            for c in reversed(self.credentials)
            if c.rp_id == options["rpId"] and (not allowed or c.credential_id in allowed)
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        ).encode()

    @staticmethod
    def _rp_hash(rp_id: str) -> bytes:
        return hashlib.sha256(rp_id.encode()).digest()
