"""Fixtures of the integration tests: a real HTTP receiver on loopback, a worker on the integration queue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import purge_queues
from tests.recording.records import record
from tests.support.http_receiver import LoopbackReceiver
from tests.support.processes import service_env, start_worker

CIRCUIT_CACHE_URL = "redis://127.0.0.1:6379/14"
# Small numbers, so that retries, the circuit's cool-down and recovery fit in a few seconds.
WEBHOOK_TEST_ENV = {
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "WEBHOOK_TIMEOUT": "1",
    "WEBHOOK_MAX_RETRIES": "2",
    "WEBHOOK_BACKOFF_FACTOR": "1",
    "WEBHOOK_BACKOFF_MAX": "2",
    "WEBHOOK_CIRCUIT_THRESHOLD": "3",
    "WEBHOOK_CIRCUIT_COOLDOWN": "2",
    # Apart from the default cache's Redis database, which other test runs flush when they start.
    "WEBHOOK_CIRCUIT_CACHE_URL": CIRCUIT_CACHE_URL,
}


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(LoopbackReceiver):
    """An endpoint whose answer the test switches: ok (200), unavailable (503), gone (410),
    redirect (302 to /elsewhere), slow (answers after the webhook timeout), held (answers 500
    once `release` is set, saying it is holding a request in `holding`); stop() makes it
    refuse connections, start() brings it back on the same port."""

    STATUS = {"ok": 200, "slow": 200, "unavailable": 503, "gone": 410, "redirect": 302, "held": 500}

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.mode = "ok"
        # Answers to give first, one per request, before falling back to `mode`.
        self.script: list[str] = []
        self.requests: list[Received] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def received(self, path: str = "/hook") -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        record("webhooks", body.decode(errors="replace"))
        with self._lock:
            self.requests.append(Received(path, headers, body))
            mode = self.script.pop(0) if self.script else self.mode
        if mode == "slow":
            time.sleep(2.5)
        if mode == "held":
            self.holding.set()
            self.release.wait(30)
        return self.STATUS[mode], {"location": self.url("/elsewhere")} if mode == "redirect" else {}


def verify(secret: str, received: Received) -> bool:
    """What a receiver does (Standard Webhooks): one of the signatures must match."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message = (
        f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode() + received.body
    )
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in received.headers["webhook-signature"].split(" ")]
    return any(hmac.compare_digest(expected, s) for s in offered)


class StubDNS:
    """DNS, the outside world, for the tests: answers lookups of the names in `answers` (through
    socket.getaddrinfo, which our resolver and httpx's own connect both call), the n-th lookup with
    the n-th address (the last one repeats); every other name goes to the real resolver."""

    def __init__(self, resolver) -> None:
        self._resolver = resolver
        self.answers: dict[str, list[str]] = {}
        self.lookups: Counter[str] = Counter()

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        if host not in self.answers:
            return self._resolver(host, port, family, type, proto, flags)
        answers = self.answers[host]
        address = answers[min(self.lookups[host], len(answers) - 1)]
        self.lookups[host] += 1
        if ipaddress.ip_address(address).version == 6:
            return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port), 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))]


@pytest.fixture
def dns(monkeypatch):
    stub = StubDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", stub)
    return stub


@pytest.fixture
def receiver():
    endpoint = Receiver()
    endpoint.start()
    yield endpoint
    endpoint.release.set()
    endpoint.stop()


@pytest.fixture
def webhook_settings(settings):
    """The same small numbers in this process (API and services) as in the worker."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TIMEOUT = 1.0
    settings.WEBHOOK_MAX_RETRIES = 2
    settings.WEBHOOK_BACKOFF_FACTOR = 1.0
    settings.WEBHOOK_BACKOFF_MAX = 2.0
    settings.WEBHOOK_CIRCUIT_THRESHOLD = 3
    settings.WEBHOOK_CIRCUIT_COOLDOWN = 2.0
    settings.CACHES = {
        **settings.CACHES,
        "webhook_circuits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CIRCUIT_CACHE_URL,
        },
    }
    settings.WEBHOOK_CIRCUIT_CACHE = "webhook_circuits"
    return settings


@pytest.fixture
def integration_worker(transactional_db, log_dir: Path, webhook_settings):
    """A real `celery worker` process on the integration queue, with the small numbers."""
    purge_queues()
    process = start_worker(log_dir, queues="integration", env=service_env(**WEBHOOK_TEST_ENV))
    yield process
    process.stop()
