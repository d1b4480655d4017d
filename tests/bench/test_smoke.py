"""The benchmark code runs end to end at tiny sizes, so that it cannot rot between full runs.

Two parts exercise the whole harness (its own database and vhost, a real worker, the relay, the
outbox filled by COPY, gunicorn, py-spy) and the report (targets, sections, plots); two more the
request parts' own code (the pipeline beside gunicorn, client threads, CPU per request, a private
RabbitMQ node under a memory alarm). The other parts share that code and are run by hand with
--smoke or --quick.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import _reachable, _unavailable

ROOT = Path(__file__).resolve().parents[2]
# The bench picks its own services; the test run's settings must not leak into it.
TEST_ONLY = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "BENCH_ID")


def _run_suite(parts: str, results: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY} | {"BENCH_RESULTS": str(results)}
    run = subprocess.run(
        [sys.executable, "-m", "bench.suite", "--smoke", "--parts", parts],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((results / "report-latest-smoke.json").read_text())


def test_profile_and_search_parts_write_a_report(tmp_path: Path):
    if not _reachable("127.0.0.1", 5432):
        _unavailable("PostgreSQL at 127.0.0.1:5432")

    report = _run_suite("profile,search", tmp_path)

    profile, search = report["results"]["profile"], report["results"]["search"]
    assert profile["worker"]["samples"] > 0
    assert profile["relay"]["samples"] > 0
    assert any("consumers.py" in row["function"] for row in profile["worker"]["project_inclusive"])
    assert [level["entries"] for level in search["levels"]] == [500, 2000]
    for level in search["levels"]:
        assert set(level["queries"]) == {"newest", "user", "type", "correlation", "deep_cursor"}
        assert all(
            q["count"] == search["sizes"]["repeats"] and q["results"] > 0 for q in level["queries"].values()
        )
    markdown = (tmp_path / "report-latest-smoke.md").read_text()
    assert "## Audit search as the trail grows" in markdown
    assert "## Profile of the hot path" in markdown
    assert (tmp_path / "plots" / "scaling-smoke.png").stat().st_size > 0


def test_refreshes_and_alarm_parts_write_a_report(tmp_path: Path):
    if not (_reachable("127.0.0.1", 5432) and _reachable("127.0.0.1", 5672)):
        _unavailable("PostgreSQL at 127.0.0.1:5432 and RabbitMQ at 127.0.0.1:5672")
    if not shutil.which("rabbitmq-server"):
        _unavailable("rabbitmq-server, for a private node")

    report = _run_suite("refreshes,alarm", tmp_path)

    refreshes, alarm = report["results"]["refreshes"], report["results"]["alarm"]
    for run in (refreshes["rate"], refreshes["alone"]):
        assert run["failed"] == 0
        assert min(run["requests"], run["cpu_ms"]["web"], run["cpu_ms"]["workers"]) > 0
    assert min(alarm["calm"]["sign-up"]["ok"], alarm["calm"]["sign-in"]["ok"]) > 0
    assert sum(kind["count"] for kind in alarm["alarm"].values()) > 0
    assert alarm["events"]["committed"] >= 2 * alarm["calm"]["sign-up"]["ok"]
    measured = {row["target"] for row in report["targets"]}
    assert {"refreshes/s per core", "one refresh p50", "events lost after the alarm"} <= measured
    markdown = (tmp_path / "report-latest-smoke.md").read_text()
    assert "## Token refreshes" in markdown
    assert "## Broker alarm" in markdown
