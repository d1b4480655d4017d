"""A host cut off from the network in the middle of a transaction must not hold its locks for
hours: the platform's connections carry TCP keepalives and a TCP user timeout
(DATABASE_KEEPALIVE), so PostgreSQL finds the silent peer, rolls its transaction back and gives
the locks to whoever waits on them (a consumer's claim, which another host's worker waits for).
Keepalives alone were not enough: when the cut came before the host acknowledged the server's
last answer (a CI run), the server retransmitted instead of probing, for a quarter of an hour.

The host is a network namespace plugged into a bridge (tests/support/netns.py); the database is
a private cluster listening on the bridge (the shared one listens on loopback only). The host's
link is taken down as a pulled cable is: nothing is reset, and only keepalives can tell."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.netns import switch
from tests.support.postgresql_cluster import SUPERUSER, PostgreSQLCluster
from tests.support.processes import PYTHON, Process, service_env, wait_for

# Probes after 2 s of silence, every second, three of them: the session ends about 5 s after the
# cut. Without keepalives it would last until the kernel gives up, over two hours.
KEEPALIVE = "2"
# How long the test waits for the lock: far beyond the keepalives' 5 s, far below two hours.
LOCK_WAIT = "30s"
HOLD_THE_CLAIM = """
import time
from django.db import connection, transaction
with transaction.atomic(), connection.cursor() as cursor:
    cursor.execute("SELECT id FROM claim WHERE id = 1 FOR UPDATE")
    print("claimed", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def network():
    with switch() as made:
        yield made


@pytest.fixture
def cluster(network):
    server = PostgreSQLCluster(listen=network.address, trust=f"{network.subnet}.0/24")
    try:
        server.create()
        server.start()
        with psycopg.connect(host="127.0.0.1", port=server.port, user=SUPERUSER, autocommit=True) as admin:
            admin.execute("CREATE TABLE claim (id integer PRIMARY KEY)")
            admin.execute("INSERT INTO claim VALUES (1)")
        yield server
    finally:
        server.remove()


def test_a_transaction_of_a_host_cut_off_ends_and_its_locks_go_to_the_next(network, cluster, log_dir):
    # given a process on another host holding a row lock in an open transaction, over the
    # platform's own database connection
    host = network.add_host()
    env = service_env(
        DATABASE_URL=f"postgres://{SUPERUSER}@{network.address}:{cluster.port}/postgres",
        DATABASE_KEEPALIVE=KEEPALIVE,
    )
    holder = Process(
        [*host.prefix, PYTHON, "manage.py", "shell", "-c", HOLD_THE_CLAIM],
        log_path=log_dir / "holder.log",
        env=env,
    )
    try:
        wait_for(lambda: "claimed" in holder.log(), timeout=60, what="the other host to take the lock")

        # when that host's link goes down
        host.cut()

        # then PostgreSQL ends its session and the lock goes to the next who asks, long before
        # the kernel's two hours
        with psycopg.connect(host="127.0.0.1", port=cluster.port, user=SUPERUSER, autocommit=True) as other:
            other.execute(f"SET lock_timeout = '{LOCK_WAIT}'")
            assert other.execute("SELECT id FROM claim WHERE id = 1 FOR UPDATE").fetchall() == [(1,)]
        assert "could not receive data from client" in cluster.log(), cluster.log()[-2000:]
    finally:
        holder.stop()
