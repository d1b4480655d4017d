"""The relay's doorbell: one datagram when a transaction that wrote events commits, none when it
rolls back; a relay listens where EVENTBUS_RELAY_LISTEN says."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
from django.db import transaction

from identity import events
from identity_project.eventbus import doorbell
from identity_project.eventbus.publisher import publish

pytestmark = pytest.mark.django_db(transaction=True)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def an_event() -> events.UserUpdated:
    return events.UserUpdated(user_id=uuid.uuid4(), changed_fields=["full_name"])


def rings(bell: doorbell.Doorbell, within: float = 0.5) -> int:
    """Datagrams that reached the bell within `within` seconds."""
    deadline, count = time.monotonic() + within, 0
    while time.monotonic() < deadline:
        try:
            bell.socket.recv(64)
            count += 1
        except BlockingIOError:
            time.sleep(0.02)
    return count


@pytest.fixture
def bell(settings):
    listen, elsewhere = free_udp_port(), free_udp_port()
    settings.EVENTBUS = {
        **settings.EVENTBUS,
        "RELAY_WAKE": f"127.0.0.1:{elsewhere}, 127.0.0.1:{listen}",
        "RELAY_LISTEN": f"127.0.0.1:{listen}",
    }
    opened = doorbell.Doorbell(doorbell.listening_address())
    assert opened.open()
    assert opened.address == ("127.0.0.1", listen)
    yield opened
    opened.close()


def test_a_commit_that_wrote_three_events_rings_once_and_a_rollback_never(bell):
    with transaction.atomic():
        for _ in range(3):
            publish(an_event())
        assert rings(bell, within=0.2) == 0  # nothing before the commit

    assert rings(bell) == 1

    with transaction.atomic():
        publish(an_event())
        transaction.set_rollback(True)

    assert rings(bell) == 0


def test_a_ring_wakes_a_waiting_relay_and_a_quiet_one_sleeps_its_interval(bell):
    assert bell.wait(0.2) is False

    with transaction.atomic():
        publish(an_event())

    assert bell.wait(5) is True
