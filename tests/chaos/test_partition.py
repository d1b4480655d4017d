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
A webhook record committed just before the cut, whose send task its worker could then not
publish, goes through the task outbox once the link is back; if the database refused that too, it
waits for the outbound sweep, as in production (beat runs it every minute): the scenario runs
that sweep itself, more often. Every event must have its effects once: one audit
row, one in-app notification per role assignment, webhooks counted by the receiver.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator

import pytest
from django.db.models import Model

from audit.models import AuditEntry
from identity.events import RoleAssignedToUser
from identity_project.celery import app as celery_app
from identity_project.eventbus import routing
from identity_project.eventbus.outbound.resend import sweep_task
from integration.services import subscription_create
from notification.models import Notification
from tests.chaos.conftest import CHAOS_EVENTS, DRAIN_TIMEOUT, Pipeline
from tests.chaos.load import Burst
from tests.chaos.receiver import WebhookReceiver
from tests.chaos.reconcile import settle
from tests.support import ledger
from tests.support.netns import Host, SwitchNode, SwitchServices, switch
from tests.support.processes import Process, wait_for

pytestmark = [pytest.mark.chaos, pytest.mark.rabbitmq_only, pytest.mark.django_db(transaction=True)]

# The workers' AMQP heartbeat, in seconds (by default they ask for 120 and RabbitMQ's 60 caps it):
# short, so that RabbitMQ gives up on the silent host within the scenario.
HEARTBEAT = 5.0
# How long the host stays cut off at least: two heartbeats and a margin.
CUT = 2 * HEARTBEAT + 5.0
RECEIVED = re.compile(r"Task [\w.]+\[([0-9a-f-]{36})\] received")
# Beat's outbound sweep in the scenario: every SWEEP_EVERY seconds, for records pending longer than
# EVENTBUS_OUTBOUND_SWEEP_AFTER (production: every minute, 120 s).
SWEEP_EVERY = 5.0
SWEEP_AFTER = "5"


@pytest.fixture
def network():
    with switch() as made:
        yield made


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


@contextlib.contextmanager
def outbound_sweeps(broker_url: str) -> Iterator[None]:
    """Beat's part for the outbound records while the block runs: the sweep task, sent to the
    pipeline's broker every SWEEP_EVERY seconds, run by the workers."""
    stop = threading.Event()

    def sweep_now_and_then() -> None:
        with celery_app.connection_for_write(url=broker_url) as connection:
            while not stop.wait(SWEEP_EVERY):
                sweep_task.apply_async(connection=connection, queue=routing.IDENTITY)

    beat = threading.Thread(target=sweep_now_and_then, name="chaos-sweeps", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(30)


def _received(worker_log: str) -> set[str]:
    """The ids of the messages a worker was given."""
    return set(RECEIVED.findall(worker_log))


def _rows(model: type[Model], event_ids: set[str]) -> int:
    """Rows of those events: one each, if every effect happened once."""
    return model.objects.filter(event_id__in=event_ids).count()


def _cut_off(node: SwitchNode, host: Host, worker: Process) -> tuple[int, float]:
    """Take the host's link down while its worker holds messages, until RabbitMQ has taken them
    back and CUT has passed; then restore it and wait for its worker to connect again. The number
    of messages held at the cut, and the seconds until RabbitMQ took them back."""
    wait_for(
        lambda: node.unacknowledged(host.address) > 0,
        timeout=60,
        interval=0.2,
        what="the worker of the host to cut off to hold messages",
    )
    host.cut()
    cut_at = time.monotonic()
    held = node.unacknowledged(host.address)
    wait_for(
        lambda: node.unacknowledged(host.address) == 0,
        timeout=10 * HEARTBEAT,
        interval=0.5,
        what="RabbitMQ to take back the messages of the cut-off host",
    )
    taken_back_after = time.monotonic() - cut_at
    time.sleep(max(0.0, CUT - taken_back_after))
    host.restore()
    wait_for(
        lambda: worker.log().count("Connected to amqp") >= 2,
        timeout=60,
        interval=0.5,
        what="the cut-off worker to connect again",
    )
    return held, taken_back_after


def test_a_worker_host_cut_off_for_longer_than_the_broker_heartbeat(
    transactional_db, log_dir, network, node, reachable, users
):
    receiver, services = reachable
    running = Pipeline(
        log_dir,
        CELERY_BROKER_URL=node.url,
        CELERY_BROKER_HEARTBEAT=str(HEARTBEAT),
        EVENTBUS_OUTBOUND_SWEEP_AFTER=SWEEP_AFTER,
    )
    try:
        # given two worker hosts, each reaching the broker, PostgreSQL, Redis and the receiver over
        # its own link, and the relay on this machine
        cut_off, other = network.add_host(), network.add_host()
        cut_worker = running.start_worker(prefix=cut_off.prefix, **services.env())
        other_worker = running.start_worker(prefix=other.prefix, **services.env())
        running.start_relay()
        running.wait_connected()
        with outbound_sweeps(node.url):
            burst = Burst(events=CHAOS_EVENTS, users=users)
            burst.start()

            # when, at a third of the burst, one host's link goes down while its worker holds
            # messages, for longer than two heartbeats, and comes back
            burst.wait_until(1 / 3)
            held, taken_back_after = _cut_off(node, cut_off, cut_worker)
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
