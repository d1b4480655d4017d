"""The benchmark code runs end to end at tiny sizes, so that it cannot rot between full runs.

Two parts exercise the whole harness (its own database and vhost, a real worker, the relay, the
outbox filled by COPY, gunicorn, py-spy) and the report (targets, sections, plots); the other
parts share that harness and are run by hand with --smoke or --quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import _reachable, _unavailable

ROOT = Path(__file__).resolve().parents[2]
# The bench picks its own services; the test run's settings must not leak into it.
TEST_ONLY = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "BENCH_ID")


def test_profile_and_search_parts_write_a_report(tmp_path: Path):
    if not _reachable("127.0.0.1", 5432):
        _unavailable("PostgreSQL at 127.0.0.1:5432")
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY} | {"BENCH_RESULTS": str(tmp_path)}

    run = subprocess.run(
        [sys.executable, "-m", "bench.suite", "--smoke", "--parts", "profile,search"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((tmp_path / "report-latest-smoke.json").read_text())
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
