"""Webhooks end to end: real events, a real worker on the integration queue, a real HTTP receiver."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from identity.events import RoleCreated, UserRegistered
from identity_project.eventbus.models import DeadLetter, OutboxEvent, ProcessedEvent
from identity_project.eventbus.outbound import resend
from identity_project.eventbus.publisher import publish
from integration import selectors, services
from integration.consumer import integration
from integration.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.integration.conftest import verify
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def user_registered() -> UserRegistered:
    return UserRegistered(user_id=uuid.uuid4(), email=f"{uuid.uuid4().hex}@example.com", method="admin")


def publish_events(*events) -> list[dict]:
    with transaction.atomic():
        return [publish(event) for event in events]


def subscribe(receiver, path: str = "/hook", event_types: tuple[str, ...] = ("identity.user.*",), **fields):
    return services.subscription_create(url=receiver.url(path), event_types=list(event_types), **fields)


def test_an_event_reaches_each_matching_subscription_once_signed_with_its_secret(
    integration_worker, receiver
):
    # given two subscriptions that want user events, and one that wants role events
    users, users_secret = subscribe(receiver, "/users")
    everything, everything_secret = subscribe(receiver, "/all", ("*",))
    subscribe(receiver, "/roles", ("identity.role.*",))

    # when a user event is published, and the consumer gets the same envelope a second time
    [envelope] = publish_events(user_registered())
    wait_for(
        lambda: len(receiver.received("/users")) == 1 and len(receiver.received("/all")) == 1, what="both"
    )
    integration.send([envelope])
    later = publish_events(RoleCreated(role_id=uuid.uuid4(), name="auditors", parent_id=None))
    wait_for(lambda: receiver.received("/roles"), what="a later event, behind the duplicate")

    # then each matching subscription got it once, signed with its own secret, keyed by event id
    wait_for(lambda: len(receiver.received("/all")) == 2, what="the later event to the catch-all")
    [to_users] = receiver.received("/users")
    [to_all] = [r for r in receiver.received("/all") if r.headers["webhook-id"] == envelope["event_id"]]
    assert verify(users_secret, to_users)
    assert not verify(everything_secret, to_users)
    assert verify(everything_secret, to_all)
    for request in (to_users, to_all):
        assert json.loads(request.body) == envelope
    assert receiver.received("/roles")[0].headers["webhook-id"] == later[0]["event_id"]
    assert WebhookDelivery.objects.filter(event_id=envelope["event_id"]).count() == 2
    assert WebhookDelivery.objects.get(subscription=users).attempts_made.count() == 1
    assert WebhookDelivery.objects.filter(subscription=everything).count() == 2


def test_a_failed_attempt_is_retried_with_the_same_webhook_id_and_every_attempt_is_recorded(
    integration_worker, receiver
):
    # given a receiver that fails once, then answers 200
    subscription, secret = subscribe(receiver)
    receiver.script = ["unavailable"]

    # when an event is published
    [envelope] = publish_events(user_registered())

    # then it arrives on the retry, under the same webhook-id, and both attempts are recorded
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(subscription=subscription, status="delivered").first(),
        timeout=30,
        what="the retry to deliver",
    )
    first, second = receiver.received()
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == envelope["event_id"]
    assert verify(secret, first)
    assert verify(secret, second)
    attempts = list(delivery.attempts_made.order_by("id").values_list("status_code", "counted"))
    assert attempts == [(503, True), (200, True)]
    assert delivery.attempts == 2
    assert all(a.duration_ms >= 0 and a.response_body == "ok" for a in delivery.attempts_made.all())


def test_a_receiver_down_for_a_while_opens_the_circuit_and_gets_everything_in_order_when_back(
    integration_worker, receiver
):
    # given a subscription whose receiver answers 503
    subscription, secret = subscribe(receiver)
    receiver.mode = "unavailable"

    # when three events are published: their failures open the circuit (threshold 3)
    envelopes = publish_events(user_registered(), user_registered(), user_registered())
    wait_for(
        lambda: selectors.subscription_circuit_state(subscription) != "closed",
        timeout=30,
        what="circuit open",
    )

    # and the receiver then stops answering at all, for several of the circuit's probes
    receiver.stop()
    wait_for(
        lambda: (
            WebhookAttempt.objects.filter(
                record__subscription=subscription, error__contains="ConnectError"
            ).count()
            >= 2
        ),
        timeout=40,
        what="probes against the refused connection",
    )

    # then nothing was dead-lettered or failed while the circuit was open
    assert not DeadLetter.objects.filter(consumer="integration").exists()
    assert set(
        WebhookDelivery.objects.filter(subscription=subscription).values_list("status", flat=True)
    ) == {"pending"}

    # when the receiver is back
    receiver.mode = "ok"
    receiver.start()

    # then every event arrives, once each, in the order of the events, and the circuit is closed
    wait_for(
        lambda: WebhookDelivery.objects.filter(subscription=subscription, status="delivered").count() == 3,
        timeout=40,
        what="all three delivered",
    )
    delivered = [
        r for r in receiver.received() if r.headers["webhook-id"] in {e["event_id"] for e in envelopes}
    ]
    ok_ids = [r.headers["webhook-id"] for r in delivered[-3:]]
    assert ok_ids == [e["event_id"] for e in envelopes]
    assert all(verify(secret, r) for r in delivered)
    assert selectors.subscription_circuit_state(subscription) == "closed"
    assert not DeadLetter.objects.filter(consumer="integration").exists()
    attempts = WebhookAttempt.objects.filter(record__subscription=subscription)
    assert attempts.filter(status_code=503).count() >= 3
    assert attempts.filter(error__contains="ConnectError", counted=False).count() >= 2
    assert attempts.filter(status_code=200).count() == 3


def test_a_receiver_answering_410_disables_its_subscription(integration_worker, receiver):
    # given a receiver that says it is gone
    subscription, _ = subscribe(receiver)
    receiver.mode = "gone"

    # when an event is delivered to it
    publish_events(user_registered())

    # then the subscription is disabled after that one request
    wait_for(
        lambda: not WebhookSubscription.objects.get(pk=subscription.pk).is_active, timeout=30, what="disabled"
    )
    subscription.refresh_from_db()
    assert "410" in subscription.disabled_reason
    assert len(receiver.received()) == 1

    # and a later event is not recorded for it: the relay does not send it, and neither does the
    # consumer record it when it gets it all the same
    [later] = publish_events(user_registered())
    wait_for(sent_by_the_relay, what="the relay to send the later event")
    integration.send([later])
    wait_for(lambda: integration_processed(later["event_id"]), what="the later event to be consumed")
    assert not WebhookDelivery.objects.filter(event_id=later["event_id"]).exists()
    assert len(receiver.received()) == 1

    # when the receiver is back and the subscription switched on again
    receiver.mode = "ok"
    services.subscription_update(subscription=subscription, is_active=True)

    # then the delivery that waited meanwhile arrives: paused, not lost
    wait_for(
        lambda: WebhookDelivery.objects.filter(subscription=subscription, status="delivered").exists(),
        timeout=30,
        what="the waiting delivery after reactivation",
    )
    assert len(receiver.received()) == 2
    assert receiver.received()[0].headers["webhook-id"] == receiver.received()[1].headers["webhook-id"]


def integration_processed(event_id: str) -> bool:
    return ProcessedEvent.objects.filter(consumer="integration", event_id=event_id).exists()


def sent_by_the_relay() -> bool:
    return not OutboxEvent.objects.exists()


def test_the_relay_sends_integration_only_the_events_an_active_subscription_selects(
    integration_worker, receiver
):
    # given a subscription to user events only, and one to role events that is switched off
    subscribe(receiver)
    roles, _ = subscribe(receiver, "/roles", ("identity.role.*",))
    services.subscription_update(subscription=roles, is_active=False)

    # when a role event and a user event commit together
    role_created = RoleCreated(role_id=uuid.uuid4(), name="auditors", parent_id=None)
    role, user = publish_events(role_created, user_registered())

    # then the user event is delivered, and the role event never reached the integration consumer
    wait_for(lambda: receiver.received(), what="the user event's webhook")
    assert integration_processed(user["event_id"])
    assert sent_by_the_relay()
    assert not integration_processed(role["event_id"])
    assert receiver.received("/roles") == []


def test_a_redirect_is_not_followed(integration_worker, receiver):
    # given a receiver that redirects to another path
    subscription, _ = subscribe(receiver)
    receiver.mode = "redirect"

    # when an event is delivered
    publish_events(user_registered())

    # then the 302 is recorded as a failed attempt and the other path is never called
    wait_for(
        lambda: WebhookAttempt.objects.filter(record__subscription=subscription, status_code=302).exists(),
        timeout=30,
        what="the redirected attempt",
    )
    assert receiver.received("/elsewhere") == []
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.status != "delivered"


def test_replay_resends_in_order_from_a_point_in_time_for_one_subscription_only(integration_worker, receiver):
    # given two subscriptions that both got three events
    replayed, secret = subscribe(receiver, "/replayed")
    subscribe(receiver, "/other")
    envelopes = [publish_events(user_registered())[0] for _ in range(3)]
    wait_for(
        lambda: WebhookDelivery.objects.filter(status="delivered").count() == 6,
        timeout=30,
        what="first round",
    )
    since = WebhookDelivery.objects.get(event_id=envelopes[1]["event_id"], subscription=replayed).occurred_at

    # when the first subscription is replayed from the second event on
    count = services.subscription_replay(subscription=replayed, since=since)

    # then it gets the second and third events again, in order, and the other gets nothing more
    wait_for(lambda: len(receiver.received("/replayed")) == 5, timeout=30, what="the replay")
    again = [r.headers["webhook-id"] for r in receiver.received("/replayed")[3:]]
    assert count == 2
    assert again == [envelopes[1]["event_id"], envelopes[2]["event_id"]]
    assert all(verify(secret, r) for r in receiver.received("/replayed"))
    assert len(receiver.received("/other")) == 3


def test_the_sweep_sends_a_delivery_whose_message_was_lost(integration_worker, receiver):
    # given a delivery recorded long ago whose task message never reached the broker
    [envelope] = publish_events(user_registered())
    wait_for(sent_by_the_relay, what="the relay to send the event")
    subscription, secret = subscribe(receiver)
    WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=envelope["event_id"],
        event_type=envelope["type"],
        aggregate_type=envelope["aggregate_type"],
        aggregate_id=envelope["aggregate_id"],
        sequence=envelope["sequence"],
        occurred_at=envelope["occurred_at"],
        envelope=envelope,
        next_attempt_at=timezone.now() - dt.timedelta(minutes=5),
    )

    # when the periodic sweep runs
    swept = resend.sweep()

    # then the delivery is sent
    wait_for(
        lambda: WebhookDelivery.objects.filter(subscription=subscription, status="delivered").exists(),
        timeout=30,
        what="the swept delivery",
    )
    [request] = receiver.received()
    assert swept == 1
    assert request.headers["webhook-id"] == envelope["event_id"]
    assert verify(secret, request)


def test_the_deliveries_of_one_message_travel_twenty_to_a_send_task_and_each_arrives_once(
    integration_worker, receiver
):
    # given a subscription to user events
    subscribe(receiver)

    # when 25 registrations commit together, and so reach integration in one message
    envelopes = publish_events(*[user_registered() for _ in range(25)])

    # then each is posted once, and the broker carried two send tasks for them, not 25
    wait_for(lambda: len(receiver.received()) == 25, what="25 webhooks")
    posted = [request.headers["webhook-id"] for request in receiver.received()]
    assert sorted(posted) == sorted(envelope["event_id"] for envelope in envelopes)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {WebhookDelivery.Status.DELIVERED}
    assert len(re.findall(r"Task eventbus\.outbound\.send\[[^]]+\] received", integration_worker.log())) == 2
