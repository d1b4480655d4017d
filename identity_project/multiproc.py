"""Where each process writes its Prometheus values: prometheus_client's multiprocess mode, set up
by the commands that start the platform's processes (gunicorn's config, the Celery worker, the
relay), never by importing the settings.

prometheus_client keeps one file per process and type in PROMETHEUS_MULTIPROC_DIR, named by a
process identifier, and GET /metrics adds them up (scrape.py, MultiProcessCollector). It leaves
three things to the application, done here:

- **The mode.** The library chooses it when it is first imported, from the environment. Celery's
  command line imports it before any code of ours runs (it loads Flower's `celery flower` plugin,
  which imports prometheus_client), so a worker whose environment lacked the variable counted in
  its own memory: every consumer read 0 at the scrape. `prepare` installs the multiprocess value
  class itself (`prometheus_client.values.ValueClass`, which the metrics read each time they make
  a value) before this process makes any value: the metrics' labelled children are made when they
  are first used (metrics.py), so a command may prepare after Django has imported them.
- **A folder of the current run only.** On one host the web, the workers and the relays share
  the folder, and the files of a process that ended must stay (a gunicorn worker or a Celery
  child that was replaced still counted events). So the files are named by owner: the process
  identifier is `<role>-<pid of the command>-<pid>`, and a command that starts removes the files
  whose owner no longer runs, or whose owner had its own pid (an earlier run, which a container
  restarted with the same pid leaves behind). A running neighbour's files, its dead children's
  included, are left alone. Files named by a bare pid (a process no command prepared, whose
  environment named the folder) are removed once that process has ended.
- **Live gauges of exited children** (`process_exited`, from gunicorn's `child_exit` and Celery's
  `worker_process_shutdown`): prometheus_client's `mark_process_dead` with the child's identifier.
  The platform defines no gauge that lives in a process today (metrics.py); this keeps a future
  `livesum`/`liveall` gauge right.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from prometheus_client import multiprocess, values

# `<role>-<pid>` of the command that prepared this process (inherited by its forked children).
_owner: str | None = None


def prepare(role: str) -> Path:
    """Make the folder, clear what earlier runs left in it, and have this process and the children
    it forks from now on write their values there under this command's name. Once per process: a
    command run inside a prepared one (`call_command`) keeps writing where that one does."""
    global _owner
    folder = Path(settings.PROMETHEUS_MULTIPROC_DIR)
    if _owner is not None:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    clear_stale(folder)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    _owner = f"{role}-{os.getpid()}"
    values.ValueClass = values.MultiProcessValue(process_identifier=_identifier)
    return folder


def _identifier() -> str:
    return f"{_owner}-{os.getpid()}"


def process_exited(pid: int) -> None:
    """A child of this command exited: its live gauges leave the sum (its counters stay)."""
    if _owner is not None:
        multiprocess.mark_process_dead(f"{_owner}-{pid}", path=str(settings.PROMETHEUS_MULTIPROC_DIR))


def clear_stale(folder: Path) -> None:
    for path in folder.glob("*.db"):
        owner = _owner_pid(path.name)
        if owner is not None and (owner == os.getpid() or not _running(owner)):
            path.unlink(missing_ok=True)


def _owner_pid(filename: str) -> int | None:
    """The pid whose end makes the file stale: its command's, or the process's own for a bare pid
    (`counter_web-12-15.db` -> 12, `histogram_40.db` -> 40, `gauge_all_40.db` -> 40)."""
    identifier = filename.removesuffix(".db").rsplit("_", 1)[-1]
    parts = identifier.split("-")
    owner = parts[1] if len(parts) == 3 else parts[0]
    return int(owner) if owner.isdigit() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: running
    return True
