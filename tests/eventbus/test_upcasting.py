"""EVENTS.md "Versions (contract v2)": a v1 envelope in the outbox, in a queue or in a dead letter
reaches the consumers of a real worker as v2, and the audit trail keeps it at version 1."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from identity.events import UserLoggedInV1
from identity_project.eventbus import deadletters
from identity_project.eventbus.context import SYSTEM, new_correlation_id
from identity_project.eventbus.envelope import build
from identity_project.eventbus.models import DeadLetter, OutboxEvent
from identity_project.eventbus.publisher import publish
from identity_project.eventbus.relay import dispatch
from tests.probe.models import ProbeEffect
from tests.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def login_v1() -> UserLoggedInV1:
    return UserLoggedInV1(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        ip_address="203.0.113.7",
        user_agent="a client of contract v1",
        mfa_used=False,
    )


def v1_envelope() -> dict:
    """A v1 envelope as the publisher of contract v1 built it."""
    event = login_v1()
    return build(
        event,
        event_id=uuid.uuid4(),
        aggregate_id=event.aggregate_id(),
        sequence=1,
        actor=SYSTEM,
        correlation_id=new_correlation_id(),
        causation_id=None,
        occurred_at=timezone.now(),
    )


def seen_by_the_handler(event_id: str) -> str:
    """What probe_logins' handler recorded: the version, door and method it was given."""
    effect = wait_for(
        lambda: ProbeEffect.objects.filter(event_id=event_id).first(), timeout=60, what="the handler's row"
    )
    return effect.probe_id


def assert_audited_as_published(envelope: dict) -> None:
    entry = wait_for(
        lambda: AuditEntry.objects.filter(event_id=envelope["event_id"]).first(),
        timeout=60,
        what="the audit entry",
    )
    assert (entry.type, entry.version) == ("identity.user.logged_in", 1)
    assert entry.data == envelope["data"]
    assert "door" not in entry.data


def test_a_v1_envelope_in_the_outbox_reaches_the_consumers_as_v2_through_the_relay(worker):
    # given a v1 login committed to the outbox
    with transaction.atomic():
        envelope = publish(login_v1())
        assert OutboxEvent.objects.get(event_id=envelope["event_id"]).version == 1

    # when the relay sends it to the worker
    # then the handler was given v2 data, and audit keeps what was published
    assert seen_by_the_handler(envelope["event_id"]) == "v2 api password"
    assert_audited_as_published(envelope)
    wait_for(lambda: not OutboxEvent.objects.exists(), what="the relay to delete the row it sent")


def test_a_v1_envelope_already_in_the_queues_reaches_the_consumers_as_v2(worker):
    # given a v1 envelope sent to every subscribed consumer's queue, as the relay sends a message
    envelope = v1_envelope()
    dispatch([envelope])

    # then the handler was given v2 data, and audit keeps what was published
    assert seen_by_the_handler(envelope["event_id"]) == "v2 api password"
    assert_audited_as_published(envelope)


def test_a_v1_envelope_replayed_from_a_dead_letter_reaches_the_consumers_as_v2(worker):
    # given a v1 envelope dead-lettered by probe_logins and by audit
    envelope = v1_envelope()
    letters = [
        deadletters.store(
            consumer=consumer,
            envelope=envelope,
            reason=DeadLetter.Reason.RETRIES_EXHAUSTED,
            error="TransientError('before contract v2')",
            traceback="",
            attempts=4,
        )
        for consumer in ("probe_logins", "audit")
    ]

    # when both letters are replayed
    for letter in letters:
        deadletters.replay(letter)

    # then the handler was given v2 data, audit keeps what was published, and so do the letters
    assert seen_by_the_handler(envelope["event_id"]) == "v2 api password"
    assert_audited_as_published(envelope)
    for letter in letters:
        letter.refresh_from_db()
        assert (letter.status, letter.envelope["version"]) == (DeadLetter.Status.REPLAYED, 1)
