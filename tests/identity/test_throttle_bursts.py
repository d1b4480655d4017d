"""Throttles hold under a burst: attempts that arrive at once are counted one by one (an atomic
increment in the shared cache), so a client that sends them in parallel gets no more through
than one that sends them in turn."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from identity.api.throttles import AuthAccountThrottle, AuthIpThrottle
from tests.identity.support import api, login

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 24


def at_once(attempt) -> list[int]:
    """The status codes of BURST calls of attempt(n), started together from as many threads."""
    start = threading.Barrier(BURST)

    def one(n: int) -> int:
        try:
            start.wait()
            return attempt(n).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def test_a_burst_of_sign_ins_from_one_address_gets_only_its_rate_through(monkeypatch):
    monkeypatch.setattr(AuthIpThrottle, "rate", "4/min", raising=False)

    # each for an e-mail of its own, so that only the address's throttle counts them
    statuses = at_once(lambda n: login(api("192.0.2.90"), f"nobody-{n}@example.com", "guess"))

    assert sorted(statuses) == [401] * 4 + [429] * (BURST - 4)


def test_a_burst_of_guesses_at_one_account_gets_only_its_rate_through(alice, monkeypatch):
    monkeypatch.setattr(AuthAccountThrottle, "rate", "3/min", raising=False)

    statuses = at_once(lambda n: login(api(f"192.0.2.{n + 1}"), alice.email, "wrong"))

    assert statuses.count(429) == BURST - 3
