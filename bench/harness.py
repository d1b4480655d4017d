"""What every benchmark run is: its id, its own database and vhost, and where results go. The rest
of what the parts share has a module each: session (the services for a run), launch (workers,
the relay, gunicorn), outbox (events written straight into it), readings (timings and
depths read back), cleanup (emptying between measures), stats, and standalone (a part run alone).

Every part (pipeline, sustained, latency, alerts, logins, refreshes, alarm, search, profile) has
three sizes: `full` (what `make bench` runs), `quick` (`make bench-quick`, about a minute each) and
`smoke` (tiny, for the test that keeps this code from rotting).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The smoke test writes elsewhere, so that it never touches the committed results.
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "results"))
BENCH_ID = os.environ.setdefault("BENCH_ID", f"bench_{uuid.uuid4().hex[:8]}")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
VHOST = f"identity_{BENCH_ID}"
DATABASE = f"identity_{BENCH_ID}"
SIZES = ("full", "quick", "smoke")
# The consumers' worker settings, the baseline's too: prefork, two processes (the machine's cores).
CONCURRENCY = 2
