"""Fixtures of the integration tests: a real HTTP receiver on loopback, a worker on the integration queue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import purge_queues
from tests.recording.records import record
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


class Receiver:
    """An HTTP endpoint on 127.0.0.1 whose answer the test switches: ok (200), unavailable (503),
    gone (410), redirect (302 to /elsewhere), slow (answers after the webhook timeout); stop()
    makes it refuse connections, start() brings it back on the same port."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.mode = "ok"
        # Answers to give first, one per request, before falling back to `mode`.
        self.script: list[str] = []
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str = "/hook") -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                record("webhooks", body.decode(errors="replace"))
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    mode = receiver.script.pop(0) if receiver.script else receiver.mode
                if mode == "slow":
                    time.sleep(2.5)
                status = {"ok": 200, "slow": 200, "unavailable": 503, "gone": 410, "redirect": 302}[mode]
                self.send_response(status)
                if mode == "redirect":
                    self.send_header("location", receiver.url("/elsewhere"))
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def verify(secret: str, received: Received) -> bool:
    """What a receiver does (Standard Webhooks): one of the signatures must match."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message = (
        f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode() + received.body
    )
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in received.headers["webhook-signature"].split(" ")]
    return any(hmac.compare_digest(expected, s) for s in offered)


@pytest.fixture
def receiver():
    endpoint = Receiver()
    endpoint.start()
    yield endpoint
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
