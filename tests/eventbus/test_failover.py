"""A failover list of broker nodes (CELERY_BROKER_URL naming several, separated by ';'): the relay
moves from a node that drops it to the next that answers, and /readyz names the node it reached.
The first "node" is a proxy in front of this run's RabbitMQ, cut as a node going away would be."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings

from audit.models import AuditEntry
from tests.eventbus.test_relay import broker_proxy, publish_in_a_process, through  # noqa: F401 - a fixture
from tests.support.processes import service_env, start_relay, start_web, wait_for
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.rabbitmq_only]


def direct_node() -> str:
    broker = urlsplit(settings.CELERY_BROKER_URL)
    return f"{broker.hostname}:{broker.port}"


@pytest.fixture
def first_node(broker_proxy):  # noqa: F811 - the fixture imported above
    """The failover list's first node: a proxy to the run's broker, which the test cuts."""
    return broker_proxy


def failover_list(first: TcpProxy) -> str:
    return f"{through(first)};{settings.CELERY_BROKER_URL}"


def test_the_relay_moves_to_the_next_node_when_its_node_goes(lone_worker, first_node, log_dir):
    # given a relay sending through the first node of the list
    env = {"CELERY_BROKER_URL": failover_list(first_node)}
    relay = start_relay(log_dir, env=service_env(**env))
    try:
        publish_in_a_process(20, "first", **env)
        wait_for(lambda: AuditEntry.objects.count() == 20, timeout=60, what="20 audit rows")
        assert f'"broker": "127.0.0.1:{first_node.port}"' in relay.log()

        # when that node goes away
        first_node.cut()
        publish_in_a_process(20, "second", **env)

        # then the relay connects to the next node and everything arrives
        wait_for(lambda: AuditEntry.objects.count() == 40, timeout=60, what="40 audit rows")
        assert f'"broker": "{direct_node()}"' in relay.log()
    finally:
        relay.stop()


def test_readyz_names_the_node_it_reached(transactional_db, first_node, log_dir):
    web, url = start_web(log_dir, env=service_env(CELERY_BROKER_URL=failover_list(first_node)))
    try:
        # the first node while it answers
        ready = httpx.get(f"{url}/readyz", timeout=10)
        assert (ready.status_code, ready.json()["broker_node"]) == (200, f"127.0.0.1:{first_node.port}")

        # the next one once it is gone, with no credentials in the answer
        first_node.cut()
        ready = httpx.get(f"{url}/readyz", timeout=10)
        assert (ready.status_code, ready.json()["broker_node"]) == (200, direct_node())
        assert "guest" not in ready.text
    finally:
        web.stop()
