"""A circuit breaker per webhook endpoint, its state in the Django cache (Redis) shared by all workers.

Closed: requests flow and consecutive failures are counted. At WEBHOOK_CIRCUIT_THRESHOLD the
circuit opens for WEBHOOK_CIRCUIT_COOLDOWN seconds; then it is half-open: the resume task sends
one probe (it holds a lock, so only one), a success closes the circuit, a failure opens it again.
"""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.core.cache import BaseCache, caches

from identity_project import cache as counters

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
# Keys outlive any cool-down by far, yet an endpoint deleted long ago leaves nothing behind.
KEY_TTL = 7 * 24 * 3600


def circuit_cache() -> BaseCache:
    return caches[settings.WEBHOOK_CIRCUIT_CACHE]


class CircuitBreaker:
    def __init__(self, endpoint: uuid.UUID | str) -> None:
        base = f"integration:circuit:{endpoint}"
        self._failures = f"{base}:failures"
        self._open_until = f"{base}:open_until"

    def state(self) -> str:
        open_until = circuit_cache().get(self._open_until)
        if open_until is None:
            return CLOSED
        return OPEN if time.time() < open_until else HALF_OPEN

    def seconds_until_probe(self) -> float:
        open_until = circuit_cache().get(self._open_until)
        return 0.0 if open_until is None else max(0.0, open_until - time.time())

    def record_success(self) -> None:
        circuit_cache().delete_many([self._failures, self._open_until])

    def record_failure(self) -> bool:
        """Count a failure; True when the circuit is open after it."""
        if self.state() == HALF_OPEN:
            self._open()
            return True
        failures = counters.count(circuit_cache(), self._failures, timeout=KEY_TTL)
        if failures >= settings.WEBHOOK_CIRCUIT_THRESHOLD:
            self._open()
            return True
        return self.state() != CLOSED

    def _open(self) -> None:
        circuit_cache().set(
            self._open_until, time.time() + settings.WEBHOOK_CIRCUIT_COOLDOWN, timeout=KEY_TTL
        )
