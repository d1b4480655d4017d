"""The child processes a benchmark starts (Celery workers, the relay, gunicorn), waiting for them
and stopping them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import CONCURRENCY, ROOT


class Process:
    def __init__(self, args: list[str], name: str, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_dir / f"{name}.log"
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_ready(self, marker: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.log_path.read_text(errors="replace"):
            if time.monotonic() > deadline or self.popen.poll() is not None:
                raise RuntimeError(f"{self.log_path} never said {marker!r}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_all([self])


def stop_all(processes: list[Process]) -> None:
    """Stop them all at once: a worker takes seconds to shut down, and they need not take turns."""
    for process in processes:
        process.popen.terminate()
    for process in processes:
        try:
            process.popen.wait(30)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()


def start_worker(
    queues: str, log_dir: Path, *, concurrency: int = CONCURRENCY, env: dict[str, str] | None = None
) -> Process:
    """A real Celery worker as production runs it (prefork, acks_late, prefetch multiplier 4)."""
    name = queues.replace(",", "+")
    worker = Process(
        [sys.executable, "-m", "celery", "-A", "identity_project", "worker", "-Q", queues, "-c",
         str(concurrency), "-P", "prefork", "--without-gossip", "--without-mingle", "-l", "INFO",
         "-n", f"{name}@%h"],
        f"worker-{name}",
        log_dir,
        env,
    )  # fmt: skip
    worker.wait_ready("ready.")
    return worker


def start_relay(log_dir: Path, *, env: dict[str, str] | None = None) -> Process:
    return Process([sys.executable, "manage.py", "relay_outbox", "--interval", "0.1"], "relay", log_dir, env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(log_dir: Path, *, name: str = "web", env: dict[str, str] | None = None) -> tuple[Process, str]:
    """gunicorn with two sync workers on a free loopback port; returns it and its base URL."""
    import httpx

    port = free_port()
    web = Process(
        [sys.executable, "-m", "gunicorn", "identity_project.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--config", "python:identity_project.gunicorn_config", "--workers", "2", "--log-level", "warning"],
        name,
        log_dir,
        env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _healthy(httpx, url), timeout=60, what=f"{name} to answer /healthz")
    return web, url


def _healthy(httpx, url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting {timeout:.0f} s for {what}")
        time.sleep(every)
