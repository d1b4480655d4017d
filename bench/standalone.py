"""A part run on its own: its size from the command line, its session, its result written and its
section printed; and the machine a run describes."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import RESULTS
from bench.session import session


def machine() -> dict:
    return {
        "host": platform.node(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def size_arguments(description: str | None):
    import argparse

    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_const", const="quick", dest="size", help="about a minute")
    group.add_argument(
        "--smoke", action="store_const", const="smoke", dest="size", help="tiny, for the tests"
    )
    parser.set_defaults(size="full")
    return parser


def run_alone(name: str, measure: Callable[[str, Path], dict], size: str) -> dict:
    """Run one part in a session of its own, write `<name>-latest[-size].json` and print its section."""
    from bench import report

    started = time.monotonic()
    with session() as log_dir:
        result = measure(size, log_dir)
    result["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if size == "full" else f"-{size}"
    (RESULTS / f"{name}-latest{suffix}.json").write_text(json.dumps(result, indent=2, default=str))
    sys.stdout.write(report.section(name, result) + "\n")
    return result
