"""A webhook receiver on 127.0.0.1 for the chaos scenarios: it refuses (stopped), answers after the
integration's timeout (slow) or answers 200 (ok), and dedups by the webhook-id header, counting
the duplicates it accepted (delivery is at least once)."""

from __future__ import annotations

import time
from collections import Counter

from tests.support.http_receiver import LoopbackReceiver

# Beyond WEBHOOK_TIMEOUT (1 s in the scenarios): the sender gives up before the answer.
SLOW_SECONDS = 2.5


class WebhookReceiver(LoopbackReceiver):
    def __init__(self) -> None:
        super().__init__()
        self.slow = False
        self.requests = 0
        self.accepted: Counter[str] = Counter()

    def unique(self) -> int:
        with self._lock:
            return len(self.accepted)

    def duplicates(self) -> int:
        """Requests answered 200 for a webhook-id that had been answered 200 before."""
        with self._lock:
            return sum(self.accepted.values()) - len(self.accepted)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]] | None:
        with self._lock:
            self.requests += 1
        if self.slow:
            time.sleep(SLOW_SECONDS)
            return None  # the sender has given up: an answer now would count for nothing
        with self._lock:
            self.accepted[headers["webhook-id"]] += 1
        return 200, {}
