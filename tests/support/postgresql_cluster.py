"""A private PostgreSQL cluster for one test, which it may stop, start and restart at will.

The shared cluster ("15 main" on 5432) serves other test runs and must never be restarted; this
one is made with Debian's postgresql-common (pg_createcluster) under a name, a port, a data
directory, a socket directory and a log of its own in a temporary folder, never started at boot,
trusting every connection: it listens on loopback only (PostgreSQL's default, localhost). A test
copies its database onto it (copy_database) and points this process's Django connection
(serving_django) and its child processes at it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connection, connections

from tests.support.ports import free_port

VERSION = "15"
# Every cluster these tests make is named PREFIX<pid of the test process>_<random>: no dashes,
# which postgresql-common warns about (systemd's unit names).
PREFIX = "chaos_pg_"
SUPERUSER = "postgres"
COMMAND_TIMEOUT = 120


def _run(*args: str, **options) -> str:
    try:
        return subprocess.run(
            args, check=True, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, **options
        ).stdout
    except subprocess.CalledProcessError as exc:
        raise AssertionError(f"{' '.join(args)} failed: {exc.stderr or exc.stdout}") from exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def remove_leftovers() -> list[str]:
    """Drop the clusters of earlier test processes that were killed before their finalizers ran
    (their pid is gone); a running test's cluster is never touched. Returns the names dropped."""
    dropped = []
    for line in _run("pg_lsclusters", "--no-header").splitlines():
        version, name, *_ = line.split()
        owner = name.removeprefix(PREFIX).split("_")[0]
        if version == VERSION and name.startswith(PREFIX) and owner.isdigit() and not _alive(int(owner)):
            subprocess.run(
                ["pg_dropcluster", "--stop", version, name], capture_output=True, timeout=COMMAND_TIMEOUT
            )
            dropped.append(name)
    return dropped


class PostgreSQLCluster:
    """`listen`: an address to listen on besides loopback, and `trust` the network (a CIDR) whose
    clients it lets in there, for hosts in network namespaces (tests/support/netns.py)."""

    def __init__(self, *, listen: str | None = None, trust: str | None = None) -> None:
        self.listen = listen
        self.trust = trust
        self.name = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="chaos-postgresql-"))
        # The server runs as postgres: it must own its folder (data, socket and log are in it).
        shutil.chown(self.folder, SUPERUSER, SUPERUSER)
        self.log_path = self.folder / "postgresql.log"

    def create(self) -> None:
        remove_leftovers()
        _run(
            "pg_createcluster", "--start-conf=manual", "-p", str(self.port), "-d", str(self.folder / "data"),
            "-s", str(self.folder), "-l", str(self.log_path),
            *(("-o", f"listen_addresses=localhost,{self.listen}") if self.listen else ()),
            VERSION, self.name, "--", "--auth=trust",
        )  # fmt: skip
        if self.trust:
            with open(f"/etc/postgresql/{VERSION}/{self.name}/pg_hba.conf", "a") as rules:
                rules.write(f"host all all {self.trust} trust\n")

    def ctl(self, action: str) -> None:
        """pg_ctlcluster start, stop (fast: open transactions rolled back, clients disconnected)
        or restart (the same stop, then a start); each returns once the server is up, or down."""
        _run("pg_ctlcluster", VERSION, self.name, action)

    def start(self) -> None:
        self.ctl("start")

    def stop(self) -> None:
        self.ctl("stop")

    def restart(self) -> None:
        self.ctl("restart")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def copy_database(self, source: dict) -> None:
        """A copy of the database `source` (a Django connection's settings) under the same name,
        as it is now: schema, rows, sequences, functions and triggers (the ledger's)."""
        env = {**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""}
        dump = subprocess.Popen(
            ["pg_dump", "--create", "--no-owner", "--no-privileges", "-h", source["HOST"] or "127.0.0.1",
             "-p", str(source["PORT"] or 5432), "-U", source["USER"], source["NAME"]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        try:
            _run(
                "psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                "-U", SUPERUSER, "-d", "postgres", stdin=dump.stdout,
            )  # fmt: skip
        finally:
            dump.stdout.close()
            _, errors = dump.communicate(timeout=COMMAND_TIMEOUT)
        assert dump.returncode == 0, f"pg_dump failed: {errors.decode(errors='replace')}"

    @contextlib.contextmanager
    def serving_django(self) -> Iterator[None]:
        """This process's default database on this cluster until the end of the block. Every
        thread's connection is built from the one settings dict (and child processes' DATABASE_URL
        from it, processes.database_url), so it is changed in place, between two closes of this
        thread's connection; other threads close theirs when they end."""
        database = connections.settings[DEFAULT_DB_ALIAS]
        kept = {key: database[key] for key in ("HOST", "PORT", "USER", "PASSWORD")}
        connection.close()
        database.update(HOST="127.0.0.1", PORT=str(self.port), USER=SUPERUSER, PASSWORD="")
        try:
            yield
        finally:
            connection.close()
            database.update(kept)

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster (also after a failed test)."""
        subprocess.run(
            ["pg_dropcluster", "--stop", VERSION, self.name], capture_output=True, timeout=COMMAND_TIMEOUT
        )
        shutil.rmtree(self.folder, ignore_errors=True)
