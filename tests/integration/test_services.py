"""The integration services in one process against a real HTTP receiver: sync feed, stale events,
timeouts, the circuit breaker, long failure streaks, the compliance feed."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from identity.events import ComplianceViolationDetected, UserRegistered, UserUpdated
from identity.models import User
from identity_project.eventbus import deadletters, routing
from identity_project.eventbus.envelope import decode
from identity_project.eventbus.models import DeadLetter, OutboxEvent, OutboxTask
from identity_project.eventbus.outbound import sender
from identity_project.eventbus.publisher import publish
from integration import services
from integration.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from integration.models import WebhookDelivery, WebhookSubscription
from integration.services.channel import webhook
from tests.factories import UserFactory
from tests.integration.conftest import verify


def attempt(delivery_id: int):
    """One attempt at a delivery, as the send task makes it."""
    return sender.attempt(webhook, delivery_id)


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(webhook_settings):
    return webhook_settings


def record(event) -> list[WebhookDelivery]:
    with transaction.atomic():
        envelope = publish(event)
    services.deliveries_record([decode(envelope)])
    OutboxTask.objects.all().delete()  # the relay's part: these tests make the attempts themselves
    return list(WebhookDelivery.objects.filter(event_id=envelope["event_id"]))


def test_a_sync_feed_sends_the_users_current_state_and_skips_stale_events(receiver):
    # given a sync-feed subscription and a user who changed their e-mail after two events
    _, secret = services.subscription_create(
        url=receiver.url(), event_types=["identity.user.*"], payload="state"
    )
    user = UserFactory(email="before@example.com")
    [older] = record(UserUpdated(user_id=user.pk, changed_fields=["full_name"]))
    [newer] = record(UserUpdated(user_id=user.pk, changed_fields=["email"]))
    User.objects.filter(pk=user.pk).update(email="after@example.com")

    # when the newer event is sent first, then the older one
    attempt(newer.pk)
    attempt(older.pk)

    # then the receiver got the current state once, and the stale event was skipped
    [request] = receiver.received()
    body = json.loads(request.body)
    assert verify(secret, request)
    assert body["event_id"] == str(newer.event_id)
    assert body["state"]["user"] == {
        "user_id": str(user.pk),
        "email": "after@example.com",
        "full_name": user.full_name,
        "is_active": True,
    }
    older.refresh_from_db()
    assert older.status == "skipped"


def test_a_timeout_is_a_recorded_failure_to_retry(receiver):
    # given a receiver slower than the webhook timeout (1 s here)
    services.subscription_create(url=receiver.url(), event_types=["*"])
    receiver.mode = "slow"
    [delivery] = record(UserRegistered(user_id=uuid.uuid4(), email="t@example.com", method="self"))

    # when it is sent
    status = sender.attempt(webhook, delivery.pk)

    # then the attempt is recorded as a timeout and a retry is due
    delivery.refresh_from_db()
    [attempt] = delivery.attempts_made.all()
    assert "Timeout" in attempt.error
    assert attempt.status_code is None
    assert (status, delivery.status, delivery.attempts) == ("pending", "pending", 1)


def test_an_endpoint_failing_for_days_is_disabled(receiver, settings):
    # given an endpoint that has not answered well for longer than the limit
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 3
    subscription, _ = services.subscription_create(url=receiver.url(), event_types=["*"])
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failing_since=timezone.now() - dt.timedelta(days=4)
    )
    receiver.mode = "unavailable"
    [delivery] = record(UserRegistered(user_id=uuid.uuid4(), email="d@example.com", method="self"))

    # when one more attempt fails
    attempt(delivery.pk)

    # then the subscription is switched off, and its delivery waits instead of being lost
    subscription.refresh_from_db()
    delivery.refresh_from_db()
    assert not subscription.is_active
    assert "failing without a success" in subscription.disabled_reason
    assert delivery.status == "pending"


def test_the_circuit_opens_at_the_threshold_and_a_success_closes_it(webhook_settings):
    breaker = CircuitBreaker(uuid.uuid4())

    assert [breaker.record_failure() for _ in range(3)] == [False, False, True]
    assert breaker.state() == OPEN
    assert breaker.seconds_until_probe() > 0

    breaker.record_success()
    assert breaker.state() == CLOSED


def test_a_failed_probe_opens_the_circuit_again(webhook_settings):
    webhook_settings.WEBHOOK_CIRCUIT_COOLDOWN = 0.0
    breaker = CircuitBreaker(uuid.uuid4())
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state() == HALF_OPEN

    webhook_settings.WEBHOOK_CIRCUIT_COOLDOWN = 60.0
    assert breaker.record_failure() is True
    assert breaker.state() == OPEN


def test_a_siem_subscription_gets_the_compliance_feed_and_a_daily_summary(receiver):
    # given a SIEM subscription that selects no type of its own
    siem, secret = services.subscription_create(url=receiver.url(), event_types=[], is_siem=True)

    # when a compliance violation and a user event happen
    violation = record(
        ComplianceViolationDetected(
            violation_id=uuid.uuid4(), rule="sod_conflict", user_id=None, details={}, severity="high"
        )
    )
    user_event = record(UserRegistered(user_id=uuid.uuid4(), email="s@example.com", method="self"))
    sent = services.siem_daily_summary()

    # then only the violation is recorded for it, and the summary counts it
    assert [d.subscription_id for d in violation] == [siem.pk]
    assert user_event == []
    [summary] = receiver.received()
    assert sent == 1
    assert verify(secret, summary)
    body = json.loads(summary.body)
    assert body["type"] == "integration.siem.daily_summary"
    assert body["counts"]["identity.compliance_violation.detected"] == 1


def test_spent_retries_on_a_closed_circuit_dead_letter_the_delivery_and_publish_nothing(receiver, settings):
    # given an endpoint that keeps refusing one delivery, with no retries left and a circuit far from open
    settings.WEBHOOK_MAX_RETRIES = 0
    settings.WEBHOOK_CIRCUIT_THRESHOLD = 10
    subscription, _ = services.subscription_create(url=receiver.url(), event_types=["*"])
    receiver.mode = "unavailable"
    [delivery] = record(UserRegistered(user_id=uuid.uuid4(), email="f@example.com", method="self"))
    events_before = OutboxEvent.objects.count()

    # when it fails
    status = sender.attempt(webhook, delivery.pk)

    # then it is failed and dead-lettered with its envelope, and no event was published about it
    delivery.refresh_from_db()
    letter = DeadLetter.objects.get(consumer="integration.webhook", event_id=delivery.event_id)
    assert status == "failed"
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, "HTTP 503")
    assert (letter.reason, letter.envelope) == ("retries_exhausted", delivery.envelope)
    assert str(subscription.pk) in letter.error
    assert OutboxEvent.objects.count() == events_before


def test_replaying_a_webhook_dead_letter_sends_the_event_again_to_each_subscription_that_gave_up(
    receiver, settings, django_capture_on_commit_callbacks
):
    # given two subscriptions that gave up on one event, and one that got it
    settings.WEBHOOK_MAX_RETRIES = 0
    settings.WEBHOOK_CIRCUIT_THRESHOLD = 10
    for path in ("/first", "/second", "/fine"):
        services.subscription_create(url=receiver.url(path), event_types=["*"])
    deliveries = record(UserRegistered(user_id=uuid.uuid4(), email="g@example.com", method="self"))
    for delivery in deliveries:
        receiver.mode = "ok" if delivery.subscription.url.endswith("/fine") else "unavailable"
        attempt(delivery.pk)
    [letter] = DeadLetter.objects.filter(consumer="integration.webhook")
    failed = sorted(d.pk for d in WebhookDelivery.objects.filter(status="failed"))
    assert len(failed) == 2

    # when the receiver is back and the dead letter is replayed
    receiver.mode = "ok"
    with django_capture_on_commit_callbacks(execute=True):
        deadletters.replay(letter)

    # then both failed deliveries are pending with fresh attempts, a send task is queued for each,
    # and run, they reach their receivers (at the second try); the delivered one is not sent again
    sends = OutboxTask.objects.filter(name="eventbus.outbound.send", queue=routing.INTEGRATION)
    assert sorted(task.args[1] for task in sends) == failed
    assert WebhookDelivery.objects.filter(pk__in=failed, status="pending", attempts=0).count() == 2
    for delivery_id in failed:
        attempt(delivery_id)
    assert WebhookDelivery.objects.filter(status="delivered").count() == 3
    assert [len(receiver.received(path)) for path in ("/first", "/second", "/fine")] == [2, 2, 1]


def test_finished_deliveries_past_the_retention_are_purged_and_pending_ones_kept(settings):
    # given an old delivered delivery, an old pending one and a recent delivered one
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    services.subscription_create(url="http://127.0.0.1:9/hook", event_types=["*"])
    old_done, old_pending, recent = (
        record(UserRegistered(user_id=uuid.uuid4(), email=f"{n}@example.com", method="self"))[0]
        for n in range(3)
    )
    WebhookDelivery.objects.filter(pk__in=[old_done.pk, recent.pk]).update(status="delivered")
    WebhookDelivery.objects.filter(pk__in=[old_done.pk, old_pending.pk]).update(
        created_at=timezone.now() - dt.timedelta(days=31)
    )

    # when the purge runs
    services.deliveries_purge()

    # then only the old finished one is gone
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {old_pending.pk, recent.pk}


def test_a_delivery_whose_attempt_died_is_sent_again_when_its_lease_ends(receiver):
    # given a delivery an attempt took and never finished (its worker was killed)
    services.subscription_create(url=receiver.url(), event_types=["*"])
    [delivery] = record(UserRegistered(user_id=uuid.uuid4(), email="k@example.com", method="self"))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="sending", lease_until=timezone.now() + dt.timedelta(seconds=20)
    )

    # when its redelivered message comes
    countdown = sender.attempt(webhook, delivery.pk)

    # then nothing is sent yet, and it looks again once the lease has ended
    assert receiver.received() == []
    assert 19 < countdown <= 21

    # when the lease has ended and it looks again
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert sender.attempt(webhook, delivery.pk) == "delivered"

    # then it is delivered once, and a later look finds nothing to do
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert len(receiver.received()) == 1
    assert sender.attempt(webhook, delivery.pk) == "skipped"


def test_a_delivery_commits_with_its_send_task_so_a_worker_killed_after_its_commit_loses_nothing():
    # given a subscription
    services.subscription_create(url="http://127.0.0.1:9/hook", event_types=["*"])

    # when the consumer records the event's delivery, and its transaction has not ended yet
    with transaction.atomic():
        envelope = publish(UserRegistered(user_id=uuid.uuid4(), email="k@example.com", method="self"))
        services.deliveries_record([decode(envelope)])
        [delivery] = WebhookDelivery.objects.filter(event_id=envelope["event_id"])
        sends = [task.args for task in OutboxTask.objects.filter(name="eventbus.outbound.send")]

    # then its send task is already written beside it, for the relay: nothing is left to do
    # after the commit, when a SIGKILL could take it along (chaos "worker SIGKILL" lost 5 of 88)
    assert sends == [[webhook.name, [delivery.pk]]]
