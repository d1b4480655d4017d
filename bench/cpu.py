"""CPU seconds per process, read from /proc (utime + stime, in clock ticks) around a measure.

What each process spends per event or per request is what bounds a rate on cores they all share:
the relay, the workers (with their pool children), gunicorn (with its workers), PostgreSQL (the
backends of the benchmark's database and the server's background processes), RabbitMQ, and the
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


def postgresql() -> list[int]:
    """PostgreSQL's processes working for this benchmark: the backends of its database, and the
    background processes (WAL writer, checkpointer, ...) that work for every database. Other
    databases' backends, another run's on the same server, are left out."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() OR backend_type <> 'client backend'"
        )
        return [pid for (pid,) in cursor.fetchall()]


def rabbitmq() -> list[int]:
    """The shared RabbitMQ server's Erlang VM (none if it runs elsewhere)."""
    found = subprocess.run(["pgrep", "-f", "beam.smp.*rabbit"], capture_output=True, text=True).stdout.split()
    return [int(found[0])] if found else []


def services() -> dict[str, list[int]]:
    """PostgreSQL and the shared RabbitMQ server, for usage()."""
    return {"postgresql": postgresql(), "rabbitmq": rabbitmq()}


def usage(processes: dict[str, list[int]], *, clients: bool = False) -> dict[str, dict[int, float]]:
    """Seconds of CPU so far of each process (with its children) of each named group; with
    `clients`, also this process's own (its client threads; its children are counted apart)."""
    spent = {name: {pid: tree(pid) for pid in pids} for name, pids in processes.items()}
    return spent | ({"clients": {os.getpid(): _cpu(os.getpid())}} if clients else {})


def per_unit(before: dict, after: dict, units: int, *, scale: float = 1e6) -> dict[str, float]:
    """CPU per unit of work of each group, and in all: microseconds by default (scale 1e3:
    milliseconds). A process that started in between counts from nothing; one that ended in
    between (a PostgreSQL backend that disconnected) is left out."""
    spent = {
        name: round(sum(seconds - before[name].get(pid, 0.0) for pid, seconds in after[name].items())
                    / units * scale, 1)
        for name in before
    }  # fmt: skip
    return spent | {"total": round(sum(spent.values()), 1)}
