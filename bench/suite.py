"""`make bench`: every part in one run (one database, one vhost), then one report.

    python -m bench.suite [--quick | --smoke] [--parts pipeline,latency,...]

The full run writes bench/results/report-latest.md and .json and the plots under
bench/results/plots/; --quick writes the same names ending in -quick (about a minute in all),
--smoke (tiny sizes, for the test) ending in -smoke. Each part also runs alone:
`python -m bench.<part> [--quick | --smoke]`.
"""

from __future__ import annotations

import importlib
import sys
import time
from datetime import UTC, datetime

from bench import report, session, standalone


def main() -> None:
    parser = standalone.size_arguments(__doc__)
    parser.add_argument("--parts", default=",".join(report.PARTS), help="a comma-separated subset")
    args = parser.parse_args()
    parts = [part for part in args.parts.split(",") if part]
    unknown = set(parts) - set(report.PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    results, seconds = {}, {}
    with session.session() as log_dir:
        for part in parts:
            started = time.monotonic()
            sys.stderr.write(f"bench: {part} ({args.size})\n")
            results[part] = importlib.import_module(f"bench.{part}").measure(args.size, log_dir)
            seconds[part] = round(time.monotonic() - started, 1)
    written = report.write(
        {
            "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "size": args.size,
            "machine": standalone.machine(),
            "seconds": seconds,
            "results": results,
        }
    )
    sys.stdout.write(f"{written}\n")


if __name__ == "__main__":
    main()
