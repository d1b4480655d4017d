"""The benchmark's summary goes into docs/benchmarks.md, between its markers, not into the README."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:summary:start -->", "<!-- bench:summary:end -->"
# bench.report imports the bench's harness, which points Django at the bench's settings: it runs
# in a process of its own, without the test run's settings.
TEST_ONLY = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "BENCH_ID")
UPDATE = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from bench import report\n"
    "report.update_summary(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))\n"
)


def _update_summary(doc: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    return subprocess.run(
        [sys.executable, "-c", UPDATE, str(ROOT / "bench" / "results" / "report-latest.json"), str(doc)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_summary_of_the_committed_report_is_written_between_the_markers_of_the_docs(tmp_path):
    # given a copy of docs/benchmarks.md whose summary block holds something else
    doc = tmp_path / "benchmarks.md"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    doc.write_text(pattern.sub(f"{START}\nan older run\n{END}", DOC.read_text()))

    # when the report writes its summary into it
    run = _update_summary(doc)

    # then the block is the committed report's summary, as docs/benchmarks.md holds it
    assert run.returncode == 0, run.stderr[-3000:]
    assert doc.read_text() == DOC.read_text()
    assert START not in (ROOT / "README.md").read_text()


def test_a_page_without_the_markers_is_refused(tmp_path):
    # given a page without the summary's markers
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n")

    # when the report writes its summary into it
    run = _update_summary(doc)

    # then it stops and says why, and leaves the page alone
    assert run.returncode == 1
    assert f"has no {START} ... {END} block" in run.stderr
    assert doc.read_text() == "# Benchmarks\n"
