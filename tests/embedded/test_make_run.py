"""`make run` on the embedded defaults: SQLite, the filesystem broker, no server at all."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ROOT, wait_for

SERVICE_VARIABLES = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "DJANGO_SETTINGS_MODULE",
    "PROMETHEUS_MULTIPROC_DIR",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def audited_types(database: Path) -> set[str]:
    if not database.exists():
        return set()
    try:
        with sqlite3.connect(database, timeout=5) as db:
            return {row[0] for row in db.execute("SELECT type FROM audit_auditentry")}
    except sqlite3.OperationalError:
        return set()  # not migrated yet


@pytest.mark.slow
def test_make_run_audits_a_published_event_with_no_server_running(tmp_path):
    # given the embedded defaults: no database, broker or mail server configured
    var = tmp_path / "var"
    web = f"127.0.0.1:{free_port()}"
    env = {
        k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("EVENTBUS_")
    }
    env.update(VAR_DIR=str(var), WEB_BIND=web, FLOWER_PORT=str(free_port()), DEBUG="true")
    env.pop("SECRET_KEY", None)
    log = open(tmp_path / "make-run.log", "wb")

    # when the platform starts (creating its demo admin publishes UserRegistered)
    process = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        # then the event reaches the audit table through the worker, and the web answers
        wait_for(
            lambda: "identity.user.registered" in audited_types(var / "db.sqlite3"),
            timeout=180,
            interval=0.5,
            what=f"the demo admin's UserRegistered in audit (log: {tmp_path / 'make-run.log'})",
        )
        wait_for(lambda: _healthy(web), timeout=60, what="the web process")
        assert "demo admin: admin@example.com" in (tmp_path / "make-run.log").read_text()
        # and the web's metrics add up what the other processes did (the command that published,
        # the worker's child that audited: it counts right after its commit)
        metrics = wait_for(
            lambda: _metrics_once_audited(web), what="the worker's count in the web's /metrics"
        )
        assert 'eventbus_events_published_total{type="identity.user.registered"} 1.0' in metrics
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


def _healthy(web: str) -> bool:
    try:
        return httpx.get(f"http://{web}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _metrics_once_audited(web: str) -> str:
    response = httpx.get(f"http://{web}/metrics", timeout=10)
    assert response.status_code == 200
    return (
        response.text if 'eventbus_consumer_events_processed_total{consumer="audit"}' in response.text else ""
    )
