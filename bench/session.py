"""The services of one benchmark run: its own PostgreSQL database (migrated) and RabbitMQ vhost."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.harness import DATABASE, RESULTS, VHOST


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=120)


def create_services() -> None:
    import psycopg

    sh("rabbitmqctl", "-q", "add_vhost", VHOST)
    sh("rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        db.execute(f'CREATE DATABASE "{DATABASE}"')


def drop_services() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True, timeout=120)
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@contextlib.contextmanager
def session() -> Iterator[Path]:
    """The benchmark's own database (migrated) and vhost for the whole run; yields the log folder."""
    create_services()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        log_dir = RESULTS / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        yield log_dir
    finally:
        drop_services()
