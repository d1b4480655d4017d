"""Where the hot path spends its time: py-spy samples the audit worker (the parent and its prefork
children) and the relay from outside while audit drains a backlog, and the costs are told per
event: each function's share of the samples and its microseconds per audited event.

py-spy attaches to running processes and changes nothing in them; its sampling costs a few per
cent of a core, so this part's drain rate is not one of the measured rates.

    python -m bench.profile [--quick | --smoke]
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import cleanup, outbox, readings, standalone
from bench.harness import ROOT
from bench.launch import start_relay, start_worker, wait_until

# At smoke size the relay still has to be sampled: it spends about 20 µs per event, so 400 events
# were 8 ms of it, a sample or two at RATE, and sometimes none.
SIZES = {"full": {"events": 60000}, "quick": {"events": 6000}, "smoke": {"events": 4000}}
RATE = 200  # samples per second and thread
TOP = 12
# A frame as py-spy writes it: "function (path/to/module.py:line)".
FRAME = re.compile(r"^(?P<function>.+?) \((?P<path>[^()]*?)(?::\d+)?\)$")
PROJECT = ("identity_project/", "identity/", "audit/", "notification/", "integration/", "bench/")


def _py_spy(pid: int, out: Path) -> subprocess.Popen:
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", str(RATE),
         "--nonblocking", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _where(path: str) -> str:
    """The module a frame belongs to: a project file relative to the work tree, a library by its
    package name."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    relative = path.removeprefix(str(ROOT) + "/")
    if relative.startswith(PROJECT):
        return relative
    return path.rsplit("/lib/python3", 1)[-1].split("/", 1)[-1] if "/lib/python3" in path else relative


def _frames(stack: str) -> list[str]:
    frames = []
    for frame in stack.split(";"):
        match = FRAME.match(frame.strip())
        if match:  # the process and thread roots py-spy adds are no functions
            frames.append(f"{match['function']} ({_where(match['path'])})")
    return frames


def analyse(raw: Path, events: int) -> dict:
    """Self and inclusive samples per function, and self samples per package."""
    own, inclusive, packages = Counter(), Counter(), Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = _frames(stack)
        if not frames:
            continue
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        for function in set(frames):
            inclusive[function] += samples
        where = frames[-1].rsplit("(", 1)[1].rstrip(")")
        packages[where.split("/", 1)[0].removesuffix(".py")] += samples

    def rows(counter: Counter, keep=lambda name: True) -> list[dict]:
        chosen = [(name, n) for name, n in counter.most_common() if keep(name)][:TOP]
        return [
            {
                "function": name,
                "share": round(n / total, 3),
                "us_per_event": round(n / RATE / max(events, 1) * 1e6, 1),
            }
            for name, n in chosen
        ]

    def in_project(name: str) -> bool:
        return name.rsplit("(", 1)[1].startswith(PROJECT)

    return {
        "samples": total,
        "events": events,
        "us_per_event": round(total / RATE / max(events, 1) * 1e6, 1),
        "self": rows(own),
        "project_inclusive": rows(inclusive, in_project),
        "packages": rows(packages),
    }


def measure(size: str, log_dir: Path) -> dict:
    events = SIZES[size]["events"]
    cleanup.reset()
    worker = start_worker("audit", log_dir)
    relay = start_relay(log_dir)
    outputs = {"worker": log_dir / "profile-worker.txt", "relay": log_dir / "profile-relay.txt"}
    # One event through first, so that neither process's start-up is sampled.
    outbox.fill_outbox(outbox.sample_envelopes(1))
    wait_until(lambda: readings.processed("audit") >= 1, timeout=120, what="the first event audited")
    spies = {"worker": _py_spy(worker.pid, outputs["worker"]), "relay": _py_spy(relay.pid, outputs["relay"])}
    try:
        time.sleep(0.5)  # py-spy attached
        outbox.fill_outbox(outbox.sample_envelopes(events))
        started = time.monotonic()
        wait_until(lambda: readings.processed("audit") > events, timeout=600, what="audit to drain")
        elapsed = time.monotonic() - started
    finally:
        for spy in spies.values():
            spy.send_signal(signal.SIGINT)
        for spy in spies.values():
            spy.wait(60)
        relay.stop()
        worker.stop()
    return {
        "size": size,
        "events": events,
        "seconds": round(elapsed, 2),
        "rate_while_profiled": round(events / elapsed, 1),
        "rate_hz": RATE,
        "worker": analyse(outputs["worker"], events),
        "relay": analyse(outputs["relay"], events),
    }


if __name__ == "__main__":
    standalone.run_alone("profile", measure, standalone.size_arguments(__doc__).parse_args().size)
