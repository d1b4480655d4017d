"""CPU seconds per process, read from /proc (utime + stime, in clock ticks) around a measure.

What each process spends per event or per request is what bounds a rate on cores they all share:
the relay, the workers (with their pool children), gunicorn (with its workers), PostgreSQL (the
postmaster's own, its live children's, and what its reaped children used), RabbitMQ, and the
benchmark's own client threads. py-spy's samples (the profile part) name the costs, but count a
thread waiting on a socket too; this counts CPU only.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu(pid: int, *, reaped: bool = False) -> float:
    """Seconds of CPU of one process (and, with `reaped`, of its children it has waited for)."""
    try:
        fields = _stat(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if reaped else 0)
    return ticks / _TICK


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def tree(pid: int) -> float:
    """Seconds of CPU of a process, of its live children and of the children it reaped."""
    return _cpu(pid, reaped=True) + sum(_cpu(child) for child in _children(pid))


def postmaster() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_directory = cursor.fetchone()[0]
    return int((Path(data_directory) / "postmaster.pid").read_text().split()[0])


def rabbitmq() -> list[int]:
    """The shared RabbitMQ server's Erlang VM (none if it runs elsewhere)."""
    found = subprocess.run(["pgrep", "-f", "beam.smp.*rabbit"], capture_output=True, text=True).stdout.split()
    return [int(found[0])] if found else []


def services(rabbitmq_pids: list[int] | None = None) -> dict[str, list[int]]:
    """PostgreSQL and RabbitMQ (the shared server unless other pids are given), for usage()."""
    return {"postgresql": [postmaster()], "rabbitmq": rabbitmq() if rabbitmq_pids is None else rabbitmq_pids}


def usage(processes: dict[str, list[int]], *, clients: bool = False) -> dict[str, float]:
    """Seconds of CPU so far of each named group of processes, each with its children; with
    `clients`, also this process's own (its client threads; its children are counted apart)."""
    spent = {name: sum(tree(pid) for pid in pids) for name, pids in processes.items()}
    return spent | ({"clients": _cpu(os.getpid())} if clients else {})


def per_unit(before: dict[str, float], after: dict[str, float], units: int, *, scale: float = 1e6) -> dict:
    """CPU per unit of work of each, and in all: microseconds by default (scale 1e3: milliseconds)."""
    spent = {name: round((after[name] - before[name]) / units * scale, 1) for name in before}
    return spent | {"total": round(sum(spent.values()), 1)}
