"""The hash chains of the audit log: canonical form, hashes, the append lock, signatures."""

# Each category (taxonomy.py) is one chain, ordered by id: an entry's `prev_hash` is the `hash` of
# the entry before it in its category (or, once retention removed that one, the `last_hash` of the
# category's newest checkpoint; or GENESIS), and its `hash` is
# sha256(prev_hash + "\n" + canonical JSON of every stored field but id and the hashes).
# Each category's newest link is also kept, signed, in AuditChainHead: no later link names the
# newest entries, so their removal shows only against the head.

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.crypto import salted_hmac

GENESIS = "0" * 64

# The fields an entry's hash covers, in the order values_list() reads them for verification.
HASHED_FIELDS = (
    "event_id",
    "type",
    "version",
    "source",
    "occurred_at",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "actor_type",
    "actor_id",
    "correlation_id",
    "causation_id",
    "data",
    "received_at",
    "user_id",
    "severity",
    "category",
)

# Appends to the chains, and retention's removals, hold this transaction-scoped advisory lock
# (PostgreSQL); SQLite serializes writers by itself.
CHAIN_LOCK_KEY = 0x61756469745F6C  # "audit_l"


def lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


def timestamp(value: dt.datetime) -> str:
    """2026-11-29T16:46:43.123456Z: isoformat, several times faster than strftime on the hot path."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


def _normal(value: Any) -> Any:
    """JSON values as they come back from any backend: jsonb turns 1e20 into an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def canonical(values: dict[str, Any]) -> str:
    normal = {}
    for name in HASHED_FIELDS:
        value = values[name]
        if isinstance(value, dt.datetime):
            value = timestamp(value)
        elif isinstance(value, uuid.UUID):
            value = str(value)
        elif name == "data":
            value = _normal(value)
        normal[name] = value
    return _CANONICAL_JSON.encode(normal)


# What json.dumps(sort_keys=True, separators=(",", ":")) writes, without building an encoder per
# call; the values come from JSON, so they cannot hold a cycle to check for.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)


def entry_hash(prev_hash: str, values: dict[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(values)}".encode()).hexdigest()


def sign(fields: dict[str, Any]) -> str:
    """HMAC-SHA256 with SECRET_KEY over the canonical JSON of a checkpoint's fields."""
    message = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return salted_hmac("audit.checkpoint", message, algorithm="sha256").hexdigest()


def signature_valid(fields: dict[str, Any], signature: str) -> bool:
    """Checked against SECRET_KEY and its fallbacks, so a key rotation keeps old checkpoints valid."""
    message = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        expected = salted_hmac("audit.checkpoint", message, secret=secret, algorithm="sha256").hexdigest()
        if hmac.compare_digest(expected, signature):
            return True
    return False
