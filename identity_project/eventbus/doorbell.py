"""The relay's doorbell: one UDP datagram after each commit that wrote events, so the relay sends
them at once instead of at its next poll.

A ring is only a hint. It costs the committing thread one non-blocking `sendto` (a few
microseconds, no lock, no broker, no database), and a lost one costs at most the relay's poll
interval: the rows are in the outbox either way. PostgreSQL's LISTEN/NOTIFY would carry the same
hint, but a NOTIFY takes a database-wide lock at commit that serialises committing transactions,
and SQLite has none.

EVENTBUS_RELAY_WAKE names where the relays listen, `host:port[,host:port...]`; empty turns the
doorbell off (the relay then polls).
"""

from __future__ import annotations

import contextlib
import select
import socket

import structlog
from django.conf import settings
from django.db import connection, transaction

log = structlog.get_logger(__name__)

_sender: socket.socket | None = None
# The resolved doorbells, and the setting they were resolved from.
_targets: tuple[str, list[tuple[str, int]]] = ("", [])


def parse(configured: str) -> list[tuple[str, int]]:
    """`host:port[,host:port...]` (an IPv6 host in brackets) as (host, port) pairs."""
    parsed = []
    for item in filter(None, (part.strip() for part in configured.split(","))):
        host, _, port = item.rpartition(":")
        parsed.append((host.strip("[]"), int(port)))
    return parsed


def addresses() -> list[tuple[str, int]]:
    """(host, port) of each relay's doorbell, as configured (EVENTBUS_RELAY_WAKE)."""
    return parse(settings.EVENTBUS["RELAY_WAKE"])


def listening_address() -> tuple[str, int] | None:
    """Where this relay listens: EVENTBUS_RELAY_LISTEN, or else the first doorbell configured."""
    return next(iter(parse(settings.EVENTBUS["RELAY_LISTEN"]) or addresses()), None)


def ring() -> None:
    """Wake the relays; never blocks and never fails (a ring is a hint)."""
    global _sender, _targets
    try:
        configured = settings.EVENTBUS["RELAY_WAKE"]
        if _targets[0] != configured:
            # Resolved once per setting: sendto with a name would ask the resolver at every commit.
            resolved = [
                socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][4]
                for host, port in parse(configured)
            ]
            _targets = (configured, resolved)
        targets = _targets[1]
        if _sender is None:
            family = socket.AF_INET6 if any(":" in target[0] for target in targets) else socket.AF_INET
            _sender = socket.socket(family, socket.SOCK_DGRAM)
            _sender.setblocking(False)
        for target in targets:
            _sender.sendto(b"!", target)
    except OSError as exc:  # a full buffer, an unresolvable name: the relay's poll covers it
        log.debug("doorbell.not_rung", error=str(exc))


def ring_after_commit() -> None:
    """Ring once when the current transaction commits, however many events it wrote. Django keeps
    the callbacks of the open transaction in `run_on_commit` (what its own test helper reads); a
    rolled-back savepoint takes its callbacks with it, so the check is made at every publish."""
    if not any(callback is ring for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(ring, robust=True)


class Doorbell:
    """The relay's end: a bound UDP socket, waited on with a timeout."""

    def __init__(self, address: tuple[str, int] | None) -> None:
        self.address = address
        self.socket: socket.socket | None = None

    def open(self) -> bool:
        """Bind, if not bound yet; False when the address is taken or none is configured (the
        relay then polls, and tries again at its next round)."""
        if self.socket is not None or self.address is None:
            return self.socket is not None
        host, port = self.address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        candidate = socket.socket(family, socket.SOCK_DGRAM)
        try:
            candidate.bind((host, port))
        except OSError as exc:
            candidate.close()
            log.warning("doorbell.unavailable", address=f"{host}:{port}", error=str(exc))
            return False
        candidate.setblocking(False)
        self.socket = candidate
        return True

    def wait(self, timeout: float) -> bool:
        """Sleep until a ring or `timeout`; True if rung. Every ring waiting is taken at once: the
        relay's next round sends whatever they announced."""
        if self.socket is None:
            select.select([], [], [], timeout)
            return False
        readable, _, _ = select.select([self.socket], [], [], timeout)
        if not readable:
            return False
        with contextlib.suppress(BlockingIOError):
            while True:
                self.socket.recv(64)
        return True

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None
