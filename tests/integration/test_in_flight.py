"""A delivery in flight is nobody else's: a late failure of an attempt that outlived its lease
turns nothing back, and a redelivery asked for meanwhile waits for that attempt, then goes once."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from identity.events import UserRegistered
from identity_project.eventbus.envelope import decode
from identity_project.eventbus.models import OutboxTask
from identity_project.eventbus.outbound import sender
from identity_project.eventbus.publisher import publish
from integration import services
from integration.models import WebhookDelivery
from integration.services.channel import webhook

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _webhook_settings(webhook_settings):
    return webhook_settings


def _delivery(receiver) -> WebhookDelivery:
    services.subscription_create(url=receiver.url(), event_types=["*"])
    with transaction.atomic():
        envelope = publish(UserRegistered(user_id=uuid.uuid4(), email="f@example.com", method="self"))
        services.deliveries_record([decode(envelope)])
    OutboxTask.objects.all().delete()  # the relay's part: these tests make the attempts themselves
    return WebhookDelivery.objects.get(event_id=envelope["event_id"])


def _attempt_in_flight(delivery: WebhookDelivery, receiver) -> threading.Thread:
    """An attempt in a worker thread of its own, which the receiver holds before it answers."""
    receiver.script = ["held"]

    def attempt() -> None:
        try:
            sender.attempt(webhook, delivery.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=attempt)
    thread.start()
    assert receiver.holding.wait(10)
    return thread


def test_a_late_failure_of_an_attempt_that_outlived_its_lease_leaves_the_delivery_delivered(receiver):
    # given an attempt held by a slow receiver past its lease, and the delivery sent again meanwhile
    delivery = _delivery(receiver)
    first = _attempt_in_flight(delivery, receiver)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now())
    assert sender.attempt(webhook, delivery.pk) == "delivered"

    # when the first attempt's answer, a 500, comes back
    receiver.release.set()
    first.join(10)

    # then the delivery stays delivered, with both attempts kept
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert sorted(a.status_code for a in delivery.attempts_made.all()) == [200, 500]


def test_a_redelivery_asked_for_in_flight_waits_for_the_attempt_then_goes_once(receiver):
    # given an attempt in flight
    delivery = _delivery(receiver)
    first = _attempt_in_flight(delivery, receiver)

    # when someone asks for it to be sent again (the API's redeliver)
    services.delivery_redeliver(delivery=delivery)
    sends = [task.args for task in OutboxTask.objects.filter(name="eventbus.outbound.send")]
    for args in sends:
        sender.send.run(*args)

    # then nothing went beside the attempt in flight
    assert len(receiver.received()) == 1

    # and once that attempt ends, the delivery goes once more, and arrives
    receiver.release.set()
    first.join(10)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert sender.attempt(webhook, delivery.pk) == "delivered"
    assert len(receiver.received()) == 2
