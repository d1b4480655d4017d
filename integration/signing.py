"""Standard Webhooks signing: secrets (whsec_<base64>), headers and the signature of one request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# The Standard Webhooks prefix of a secret, not a secret.
SECRET_PREFIX = "whsec_"  # noqa: S105 # nosec B105


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the secret's decoded bytes."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(*, secrets_in_use: list[str], webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The request's headers; during a secret's grace period it is signed with each secret,
    space-separated, so a receiver holding either one can verify it."""
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
            for secret in secrets_in_use
        ),
    }
