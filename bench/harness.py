"""What every benchmark shares: its own database and vhost, child processes, where results go."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_ID = os.environ.setdefault("BENCH_ID", f"bench_{uuid.uuid4().hex[:8]}")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
VHOST = f"identity_{BENCH_ID}"
DATABASE = f"identity_{BENCH_ID}"


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def create_services() -> None:
    import psycopg

    sh("rabbitmqctl", "-q", "add_vhost", VHOST)
    sh("rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        db.execute(f'CREATE DATABASE "{DATABASE}"')


def drop_services() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True, timeout=120)
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


class Process:
    def __init__(self, args: list[str], name: str, log_dir: Path) -> None:
        self.log_path = log_dir / f"{name}.log"
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=dict(os.environ), stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT
        )

    def wait_ready(self, marker: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.log_path.read_text(errors="replace"):
            if time.monotonic() > deadline or self.popen.poll() is not None:
                raise RuntimeError(f"{self.log_path} never said {marker!r}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
