"""Real Celery worker and relay processes for tests, started with subprocess and killed with signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from django.db import connection

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def wait_for(
    condition: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> object:
    """Poll until condition() is truthy; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def database_url(*, host: str | None = None, port: int | None = None) -> str:
    """This run's test database, or the same database through another address (a TcpProxy)."""
    database = connection.settings_dict
    address = f"{host or database['HOST']}:{port or database['PORT']}"
    return f"postgres://{database['USER']}@{address}/{database['NAME']}"


def service_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process: the test settings, pointed at this run's test database."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["DATABASE_URL"] = database_url()
    env.update(overrides)
    return env


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, args: list[str], *, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        # Processes stopped with this one (a worker's relay).
        self.companions: list[Process] = []

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def stop(self, timeout: float = 15.0) -> None:
        for companion in self.companions:
            companion.stop(timeout)
        if self.popen.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


def start_worker(
    log_dir: Path,
    *,
    queues: str = "audit,probe",
    concurrency: int = 2,
    env: dict[str, str] | None = None,
    relay: bool = True,
    prefix: Sequence[str] = (),
) -> Process:
    """A worker on `queues`, with a relay (stopped with it) that sends it what the test commits, as
    production runs them; `relay=False` for a test that runs its relays itself. A second relay
    started this way waits as a standby (relay.py). `prefix` runs it through another command that
    execs it (`ip netns exec NS`: a worker on a host of its own, tests/support/netns.py)."""
    worker = Process(
        [
            *prefix, PYTHON, "-m", "celery", "-A", "identity_project", "worker",
            "-Q", queues, "-c", str(concurrency), "-P", "prefork",
            "--without-gossip", "--without-mingle", "--loglevel", "INFO",
            "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ],
        log_path=log_dir / "worker.log",
        env=env or service_env(),
    )  # fmt: skip
    wait_for(
        lambda: "ready." in worker.log() or worker.popen.poll() is not None, timeout=60, what="worker ready"
    )
    assert worker.popen.poll() is None, worker.log()
    if relay:
        worker.companions.append(start_relay(log_dir, env=env, name=f"relay-of-{worker.pid}"))
    return worker


def start_web(log_dir: Path, *, env: dict[str, str] | None = None) -> tuple[Process, str]:
    """The platform's web process as production runs it (gunicorn, two sync workers) on a free
    loopback port; returns it and its base URL once /healthz answers."""
    port = free_port()
    web = Process(
        [PYTHON, "-m", "gunicorn", "identity_project.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--config", "python:identity_project.gunicorn_config", "--workers", "2", "--log-level", "warning"],
        log_path=log_dir / "web.log",
        env=env or service_env(),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return web.popen.poll() is not None

    wait_for(healthy, timeout=60, what="gunicorn to answer /healthz")
    assert web.popen.poll() is None, web.log()
    return web, url


def start_relay(log_dir: Path, *, env: dict[str, str] | None = None, name: str = "relay") -> Process:
    return Process(
        [PYTHON, "manage.py", "relay_outbox", "--interval", "0.2"],
        log_path=log_dir / f"{name}.log",
        env=env or service_env(),
    )
