"""The relay: events committed while the broker is unreachable are sent once it is back."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from audit.models import AuditEntry
from identity_project.eventbus.models import OutboxEvent
from identity_project.eventbus.publisher import publish
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect
from tests.support.processes import PYTHON, ROOT, service_env, start_relay, wait_for
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_proxy():
    """A proxy in front of this run's broker (RabbitMQ, or Redis under make test-redis)."""
    broker = urlsplit(settings.CELERY_BROKER_URL)
    proxy = TcpProxy(broker.hostname, broker.port)
    yield proxy
    proxy.close()


def through(proxy: TcpProxy) -> str:
    broker = urlsplit(settings.CELERY_BROKER_URL)
    credentials = broker.netloc.rsplit("@", 1)[0] + "@" if "@" in broker.netloc else ""
    return urlunsplit(broker._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))


def publish_in_a_process(count: int, prefix: str, **env: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "probe_publish", "--count", str(count), "--prefix", prefix],
        cwd=ROOT,
        env=service_env(**env),
        check=True,
        capture_output=True,
        timeout=180,
    )


def pending() -> int:
    return OutboxEvent.objects.count()


def test_events_committed_while_the_broker_is_unreachable_reach_audit_once_it_is_back(
    lone_worker, broker_proxy, log_dir
):
    # given the broker unreachable for the publishing process and its relay
    broker_proxy.cut()
    broker = through(broker_proxy)

    # when 200 events are committed, and the relay runs through the outage
    publish_in_a_process(200, "outage", CELERY_BROKER_URL=broker)
    relay = start_relay(log_dir, env=service_env(CELERY_BROKER_URL=broker))
    try:
        wait_for(lambda: "relay.failed" in relay.log(), timeout=30, what="the relay to meet the outage")
        assert pending() == 200
        assert AuditEntry.objects.count() == 0
        # (the failure is counted on the rows it kept waiting)
        assert OutboxEvent.objects.filter(attempts__gt=0).count() == 200

        broker_proxy.restore()

        # then all 200 reach audit and the probe consumer, exactly once, and nothing is left
        wait_for(lambda: AuditEntry.objects.count() == 200, timeout=90, what="200 audit rows")
        wait_for(lambda: ProbeEffect.objects.count() == 200, timeout=60, what="200 probe effects")
        assert pending() == 0
    finally:
        relay.stop()
    assert AuditEntry.objects.values("event_id").distinct().count() == 200


def test_two_relays_side_by_side_send_every_event_once(lone_worker, log_dir):
    # given 300 events committed with no relay running
    publish_in_a_process(300, "pair")
    assert pending() == 300

    # when two relays run at once
    relays = [start_relay(log_dir, name=f"relay-{i}") for i in (1, 2)]
    try:
        wait_for(lambda: pending() == 0, timeout=60, what="the outbox to drain")
        wait_for(lambda: ProbeEffect.objects.count() == 300, timeout=60, what="300 probe effects")
    finally:
        for relay in relays:
            relay.stop()

    # then every event was applied once
    assert AuditEntry.objects.count() == 300
    assert ProbeEffect.objects.values("event_id").distinct().count() == 300


def relay_once_in_a_process() -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", "relay_outbox", "--once"],
        cwd=ROOT, env=service_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


def test_a_second_relay_stands_by_while_one_sends_and_sends_once_it_is_alone(lone_worker, log_dir):
    # given a relay that leads
    leader = start_relay(log_dir, name="leader")
    try:
        wait_for(lambda: "relay.leading" in leader.log(), what="the first relay to lead")

        # when another relay is asked to send what is pending, once
        # then it stands by and leaves at once: the leader sends
        assert "relay.standing_by" in relay_once_in_a_process()
    finally:
        leader.stop()

    # and alone, it sends what waits
    publish_in_a_process(5, "alone")
    assert "sent 5 events" in relay_once_in_a_process()
    assert pending() == 0


def rounds_sent(relay) -> list[int]:
    """The events of each round that sent some, from the relay's log."""
    return [json.loads(line)["events"] for line in relay.log().splitlines() if '"relay.sent"' in line]


def test_commits_that_keep_coming_travel_together_and_the_first_after_a_quiet_spell_at_once(
    lone_worker, log_dir
):
    # given a relay whose rounds are at least a second apart while commits keep coming
    relay = start_relay(log_dir, env=service_env(EVENTBUS_RELAY_LINGER="1.0"))
    try:
        wait_for(lambda: "relay.leading" in relay.log(), what="the relay to lead")

        # when one event commits after a quiet spell, and five more right after it, one by one
        publish(ProbeRequested(probe_id="quiet", action="ok"))
        wait_for(lambda: rounds_sent(relay), what="the first round")
        for n in range(5):
            publish(ProbeRequested(probe_id=f"stream-{n}", action="ok"))

        # then the first left alone, at once, and the five together in the next round
        # (the relay logs a round after the broker confirmed it, so audit may be quicker than its log)
        wait_for(lambda: sum(rounds_sent(relay)) == 6, timeout=30, what="the relay to log six events")
        assert rounds_sent(relay) == [1, 5]
        wait_for(lambda: AuditEntry.objects.count() == 6, timeout=30, what="six audit rows")
    finally:
        relay.stop()
