"""What the tour runs on: the platform's processes (web, worker, relay) on the embedded defaults,
and a webhook receiver on loopback that checks each request's signature."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from integration import signing

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# The tour runs on the embedded defaults whatever the shell has set.
SERVICE_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "EMAIL_URL", "DJANGO_SETTINGS_MODULE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.3)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


class Stage:
    """The platform's processes, each in its own process group with its log under VAR_DIR/logs."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.logs = var_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.web = f"127.0.0.1:{free_port()}"
        self.env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
        self.env.update(
            VAR_DIR=str(var_dir),
            DEBUG="true",
            WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
            # The tour signs in "from" several addresses: the web believes X-Forwarded-For from loopback.
            IDENTITY_TRUSTED_PROXIES="127.0.0.1",
        )
        self.processes: dict[str, subprocess.Popen] = {}

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        # One web worker: the embedded cache (throttles, unknown-account counts) is per process.
        self._spawn(
            "web", "-m", "gunicorn", "identity_project.wsgi:application", "--bind", self.web,
            "--workers", "1", "--config", "python:identity_project.gunicorn_config",
        )  # fmt: skip
        self._spawn(
            "worker", "-m", "celery", "-A", "identity_project", "worker", "--concurrency", "2",
            "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        )  # fmt: skip
        self._spawn("relay", "manage.py", "relay_outbox")
        wait_until(lambda: "ready." in self.log("worker"), timeout=120, what="the worker's start")
        wait_until(self._web_answers, timeout=120, what="the web's start")

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [PYTHON, *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _web_answers(self) -> bool:
        try:
            with socket.create_connection(tuple(self.web.split(":")), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


@dataclass
class Received:
    event_type: str
    webhook_id: str
    signature_ok: bool


@dataclass
class Receiver:
    """A webhook endpoint on loopback: answers 204 and keeps what came, signature checked."""

    secret: str = ""
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                webhook_id = self.headers.get("webhook-id", "")
                expected = signing.signature(
                    secret=receiver.secret,
                    webhook_id=webhook_id,
                    timestamp=int(self.headers.get("webhook-timestamp", "0")),
                    body=body,
                )
                signed = expected in self.headers.get("webhook-signature", "").split()
                receiver.received.append(Received(json.loads(body).get("type", "?"), webhook_id, signed))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:  # the tour prints what came; no access log
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/identity"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
