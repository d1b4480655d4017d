"""Benchmark of token refreshes: POST /api/v1/auth/token/refresh with rotation (each answer
carries a new refresh token, which the client must send next; an old one ends the session),
through gunicorn (2 sync workers) with the relay and the consumers' workers at work (stack.py),
so that delivering and consuming each refresh's four events (two TokenIssued, TokenRefreshed,
SessionRefreshed) is counted: the rate runs until every event the refreshes committed was consumed.

  rate   four client threads, each with sessions of its own (its users signed in first),
         refreshing them in turn; per core of the machine;
  alone  one client thread: p50/p95 of one refresh.

    python -m bench.refreshes [--quick | --smoke]
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from bench import cleanup, launch, logins, stack, standalone
from bench.clients import Timings

SIZES = {
    "full": {"seconds": 20.0, "alone_s": 10.0},
    "quick": {"seconds": 4.0, "alone_s": 3.0},
    "smoke": {"seconds": 1.0, "alone_s": 1.0},
}
CLIENTS = 4
SESSIONS_PER_CLIENT = 3
REFRESH = "/api/v1/auth/token/refresh"


class Sessions:
    """One client thread's sessions: for each, its user and the refresh token to send next."""

    def __init__(self, http: httpx.Client, emails: list[str]) -> None:
        timed = Timings()
        self.emails = emails
        self.tokens = [self._sign_in(http, email, timed) for email in emails]
        if None in self.tokens:
            raise RuntimeError(f"signing in before the refreshes failed: {timed.kinds}")
        self.turn = 0

    @staticmethod
    def _sign_in(http: httpx.Client, email: str, timed: Timings) -> str | None:
        answer = logins.sign_in(http, email, timed)
        return answer.json()["refresh"] if answer else None

    def refresh_next(self, http: httpx.Client, timed: Timings) -> None:
        """Refresh the next session in turn; one whose refresh failed is signed in again."""
        n = self.turn % len(self.tokens)
        self.turn += 1
        token = self.tokens[n]
        answer = timed("refresh", lambda: http.post(REFRESH, json={"refresh": token}), 200)
        self.tokens[n] = answer.json()["refresh"] if answer else self._sign_in(http, self.emails[n], timed)


def _refresh(http: httpx.Client, sessions: Sessions, timed: Timings) -> None:
    sessions.refresh_next(http, timed)


def measure(size: str, log_dir: Path) -> dict:
    sizes = SIZES[size]
    cores = os.cpu_count() or 1
    cleanup.reset()
    emails = logins.create_users("django", (CLIENTS + 1) * SESSIONS_PER_CLIENT, prefix="refresh")
    with stack.running(log_dir) as pipeline:
        web, url = launch.start_web(log_dir, name="web-refreshes")
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                states = [
                    Sessions(http, emails[n * SESSIONS_PER_CLIENT : (n + 1) * SESSIONS_PER_CLIENT])
                    for n in range(CLIENTS + 1)
                ]
            rate = stack.measure_load(
                pipeline,
                web,
                url,
                "refresh",
                states=states[:CLIENTS],
                step=_refresh,
                seconds=sizes["seconds"],
            )
            alone = stack.measure_load(
                pipeline,
                web,
                url,
                "refresh",
                states=states[CLIENTS:],
                step=_refresh,
                seconds=sizes["alone_s"],
            )
        finally:
            web.stop()
    return {
        "size": size,
        "sizes": sizes,
        "cores": cores,
        "clients": CLIENTS,
        "sessions_per_client": SESSIONS_PER_CLIENT,
        "rate": rate,
        "per_core": round(rate["rate"] / cores, 1),
        "alone": alone,
    }


if __name__ == "__main__":
    standalone.run_alone("refreshes", measure, standalone.size_arguments(__doc__).parse_args().size)
