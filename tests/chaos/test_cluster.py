"""A three-node RabbitMQ cluster under a burst: the platform is given every node (a failover list)
and its quorum queues have a replica on each. The node leading the consumers' queues is stopped
mid-burst and comes back; then a second node goes while the first is still down, so the queues
lose their majority: publishes fail, the outbox holds the events, and delivery resumes once a
majority is back. Both reconcile as every scenario does (reconcile.settle): lost = 0.

A webhook whose send task a worker could not publish at the fault (the broker refused it) goes
through the task outbox, and the relay sends it once a majority is back: no sweep is needed.

The cluster (own node names, ports and data; the shared server untouched) is started once for the
module and removed at its end, also when a scenario fails.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from identity.events import RoleAssignedToUser
from identity_project.eventbus.models import OutboxEvent
from identity_project.eventbus.publisher import publish
from tests.chaos.conftest import CHAOS_EVENTS, DRAIN_TIMEOUT, QUEUES, Pipeline
from tests.chaos.load import Burst
from tests.chaos.reconcile import settle
from tests.support.processes import wait_for
from tests.support.rabbitmq_cluster import RabbitMQCluster

pytestmark = [pytest.mark.chaos, pytest.mark.rabbitmq_only, pytest.mark.django_db(transaction=True)]

CONSUMER_QUEUES = ("audit", "notification", "notification.urgent", "integration")
# Role assignments the majority-lost scenario commits while the queues have no majority.
HELD = 10


@pytest.fixture(scope="module")
def cluster():
    nodes = RabbitMQCluster()
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.remove()


@pytest.fixture
def cluster_pipeline(cluster, transactional_db, log_dir):
    """A worker and a relay given the three nodes, on a whole cluster (a node a failed scenario
    left stopped is started again)."""
    for node in cluster.nodes:
        if node.name in cluster.stopped:
            cluster.start_node(node)
    running = Pipeline(log_dir, CELERY_BROKER_URL=cluster.url)
    try:
        running.start_worker()
        running.start_relay()
        running.wait_connected()
        yield running
    finally:
        running.stop()


def assert_replicated_on_every_node(cluster: RabbitMQCluster) -> None:
    queues = cluster.queues()
    members = {node.name for node in cluster.nodes}
    for name in QUEUES.split(","):
        assert (queues[name]["type"], set(queues[name]["members"])) == ("quorum", members), queues[name]


def test_the_node_leading_the_queues_stopped_and_restarted(cluster, cluster_pipeline, receiver, users):
    # given quorum queues with three replicas, their leader on one node
    assert_replicated_on_every_node(cluster)
    leader = cluster.leader(CONSUMER_QUEUES)
    burst = Burst(events=CHAOS_EVENTS, users=users)
    burst.start()

    # when that node stops at a third of the burst (the others elect a leader) and comes back at
    # two thirds
    burst.wait_until(1 / 3)
    cluster.stop(leader)
    assert cluster.leader(CONSUMER_QUEUES) is not leader
    burst.wait_until(2 / 3)
    cluster.start_node(leader)
    burst.finish()

    # then everything arrives, and the queues kept their three replicas
    settle("RabbitMQ cluster: leader stopped", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    assert_replicated_on_every_node(cluster)


def test_two_nodes_stopped_so_the_queues_lose_their_majority(cluster, cluster_pipeline, receiver, users):
    first = cluster.leader(CONSUMER_QUEUES)
    burst = Burst(events=CHAOS_EVENTS, users=users)
    burst.start()

    # when the leader stops at a third of the burst, and then the node elected after it
    burst.wait_until(1 / 3)
    cluster.stop(first)
    second = cluster.leader(CONSUMER_QUEUES)
    cluster.stop(second)

    # then, without a majority, publishes fail and the outbox holds the events: the burst's, and
    # these, committed while no majority exists whatever the burst's pace
    with transaction.atomic():
        held = [publish(RoleAssignedToUser(role_id=uuid.uuid4(), user_id=user.pk)) for user in users[:HELD]]
    held_ids = [envelope["event_id"] for envelope in held]
    wait_for(
        lambda: OutboxEvent.objects.filter(event_id__in=held_ids, attempts__gt=0).count() == HELD,
        timeout=60,
        what="the relay to fail to send them without a majority",
    )
    assert "relay.failed" in cluster_pipeline.relays[0].log()

    # and once one node is back (a majority again) what was held is sent, then the last node
    burst.wait_until(2 / 3)
    cluster.start_node(first)
    wait_for(
        lambda: not OutboxEvent.objects.filter(event_id__in=held_ids).exists(),
        timeout=DRAIN_TIMEOUT,
        interval=0.5,
        what="the events held without a majority to be sent",
    )
    cluster.start_node(second)
    burst.finish()

    settle("RabbitMQ cluster: majority lost", receiver=receiver, explained={}, timeout=DRAIN_TIMEOUT)
    assert_replicated_on_every_node(cluster)
