"""A worker host cut off from the network (issue #21): two worker hosts, each a network namespace of
its own plugged into a switch of this machine (tests/support/netns.py), with a private RabbitMQ node,
this run's PostgreSQL and Redis and the webhook receiver at the switch's address; the relay stays
on this machine. Mid-burst one host's link goes down while its worker holds messages, for longer
than two heartbeats of the broker, and comes back.

RabbitMQ hears nothing more from the host, closes its connection after two missed heartbeats and
gives the messages it held to the other host's worker. The cut-off worker finds its connection
gone only once its link is back (its event loop waits meanwhile in the retries of Celery's
worker-heartbeat event, celery/celery#2312), and connects again. Its transactions, stalled in
between and holding their claims (the other worker waits on them), go on when the link returns.
Every event must have its effects once: one audit row, one in-app notification per role
assignment, webhooks counted by the receiver.
"""

from __future__ import annotations

import re
import time

import pytest

from audit.models import AuditEntry
from identity.events import RoleAssignedToUser
from integration.services import subscription_create
from notification.models import Notification
from tests.chaos.conftest import CHAOS_EVENTS, DRAIN_TIMEOUT, Pipeline
from tests.chaos.load import Burst
from tests.chaos.receiver import WebhookReceiver
from tests.chaos.reconcile import settle
from tests.support import ledger
from tests.support.netns import Network, SwitchNode, SwitchServices
from tests.support.processes import wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.rabbitmq_only, pytest.mark.django_db(transaction=True)]

# The workers' AMQP heartbeat, in seconds (production's default is 120): short, so that RabbitMQ
# gives up on the silent host within the scenario.
HEARTBEAT = 5.0
# How long the host stays cut off at least: two heartbeats and a margin.
CUT = 2 * HEARTBEAT + 5.0
RECEIVED = re.compile(r"Task [\w.]+\[([0-9a-f-]{36})\] received")


@pytest.fixture
def network():
    """The switch and its hosts, removed at the end whatever happened (also when half made)."""
    switch = Network()
    try:
        switch.create()
        yield switch
    finally:
        switch.remove()


@pytest.fixture
def node(network):
    broker = SwitchNode(network.address)
    try:
        broker.start()
        yield broker
    finally:
        broker.remove()


@pytest.fixture
def reachable(network, webhook_settings):
    """The receiver and the services at the switch's address, and the receiver's subscription to
    the load's marked events (role assignments) at that address."""
    receiver = WebhookReceiver()
    receiver.start()
    services = SwitchServices(network.address, receiver_port=receiver.port)
    try:
        subscription_create(url=services.receiver_url(), event_types=[RoleAssignedToUser.type])
        yield receiver, services
    finally:
        services.close()
        receiver.stop()


def _received(worker_log: str) -> set[str]:
    """The ids of the messages a worker was given."""
    return set(RECEIVED.findall(worker_log))


def _rows(model, event_ids: set[str]) -> int:
    return model.objects.filter(event_id__in=event_ids).count()


def test_a_worker_host_cut_off_for_longer_than_the_broker_heartbeat(
    transactional_db, log_dir, network, node, reachable, users
):
    receiver, services = reachable
    running = Pipeline(log_dir, CELERY_BROKER_URL=node.url, CELERY_BROKER_HEARTBEAT=str(HEARTBEAT))
    try:
        # given two worker hosts, each reaching the broker, PostgreSQL, Redis and the receiver over
        # its own link, and the relay on this machine
        cut_off, other = network.add_host(), network.add_host()
        cut_worker = running.start_worker(prefix=cut_off.prefix, **services.env())
        other_worker = running.start_worker(prefix=other.prefix, **services.env())
        running.start_relay()
        running.wait_connected()
        burst = Burst(events=CHAOS_EVENTS, users=users)
        burst.start()

        # when, at a third of the burst, one host's link goes down while its worker holds messages
        burst.wait_until(1 / 3)
        wait_for(
            lambda: node.unacknowledged(cut_off.address) > 0,
            timeout=60,
            interval=0.2,
            what="the worker of the host to cut off to hold messages",
        )
        cut_off.cut()
        cut_at = time.monotonic()
        held = node.unacknowledged(cut_off.address)
        # and stays down until RabbitMQ has taken them back, and two heartbeats at least
        wait_for(
            lambda: node.unacknowledged(cut_off.address) == 0,
            timeout=10 * HEARTBEAT,
            interval=0.5,
            what="RabbitMQ to take back the messages of the cut-off host",
        )
        taken_back_after = time.monotonic() - cut_at
        time.sleep(max(0.0, CUT - taken_back_after))
        cut_off.restore()
        # and its worker finds its connection gone once the link is back, and connects again
        wait_for(
            lambda: cut_worker.log().count("Connected to amqp") >= 2,
            timeout=60,
            interval=0.5,
            what="the cut-off worker to connect again",
        )
        burst.finish()

        # then every event is accounted for
        result = settle("worker host cut off", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    finally:
        running.stop()

    # RabbitMQ gave up on the host by its heartbeats, not at once
    assert held > 0
    assert taken_back_after > HEARTBEAT, taken_back_after
    assert "missed heartbeats from client" in node.log()
    # the messages it had been given reached the other host's worker
    moved = _received(cut_worker.log()) & _received(other_worker.log())
    assert moved, "no message of the cut-off host was delivered to the other host"
    # and every effect happened once (the receiver counts the webhooks it accepted twice)
    events = ledger.committed_events()
    marked = {event for event, kind in events.items() if kind == RoleAssignedToUser.type}
    assert _rows(AuditEntry, set(events)) == result.audited == result.committed
    assert _rows(Notification, marked) == result.in_app == len(marked)
