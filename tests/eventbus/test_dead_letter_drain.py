"""What RabbitMQ dead-letters is drained into the store; a task message that is not a consumer's
batch is kept for a person, and refusing to replay it is a clean 409, not a 500."""

from __future__ import annotations

import pytest
from kombu import Exchange
from rest_framework.test import APIClient

from identity.models import User
from identity_project.celery import app
from identity_project.eventbus import deadletters, routing
from identity_project.eventbus.models import DeadLetter

pytestmark = [pytest.mark.django_db, pytest.mark.rabbitmq_only]


def dead_letter_directly(task: str, args: list) -> None:
    """Put a Celery task message in the identity queue's dead-letter queue, as RabbitMQ would."""
    with app.connection_for_write() as connection:
        routing.declare_dead_letter_topology(connection, app.conf.broker_url, routing.queue_names())
        producer = connection.Producer()
        producer.publish(
            [args, {}, {}],
            exchange=Exchange(routing.DEAD_LETTER_EXCHANGE.name, type="direct"),
            routing_key="identity.dlq",
            headers={"task": task, "id": "t-1", "x-delivery-count": 5},
            serializer="json",
        )


def test_a_dead_lettered_plain_task_is_stored_for_a_person_and_cannot_be_replayed():
    dead_letter_directly("identity.send_enrolment_code", [42])

    drained = deadletters.drain_dead_letter_queues()

    assert drained == 1
    letter = DeadLetter.objects.get()
    assert (letter.consumer, letter.reason) == ("identity.send_enrolment_code", "delivery_limit")
    assert letter.envelope["args"] == [42]
    operator = APIClient()
    operator.force_authenticate(User.objects.create_superuser("ops@example.com", "an-operator-password"))
    response = operator.post(f"/api/v1/ops/dead-letters/{letter.pk}/replay")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
