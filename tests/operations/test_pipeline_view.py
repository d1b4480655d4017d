"""ops/pipeline and manage.py trace: what waits, fails and is dead-lettered; the story of one request."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from audit.services.ingestion import entries_append
from identity import events
from identity.models import User
from identity_project.eventbus import deadletters
from identity_project.eventbus.context import event_context
from identity_project.eventbus.idempotency import claim
from identity_project.eventbus.models import DeliveryFailure, OutboxEvent, ProcessedEvent
from identity_project.eventbus.publisher import publish
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def one_request(correlation_id: str) -> list[dict]:
    with event_context(correlation_id=correlation_id), transaction.atomic():
        user = uuid.uuid4()
        return [
            publish(events.UserRegistered(user_id=user, email="p@example.com", method="self")),
            publish(events.UserUpdated(user_id=user, changed_fields=["full_name"])),
        ]


def test_the_pipeline_view_shows_backlog_failures_dead_letters_and_latency():
    operator = APIClient()
    operator.force_authenticate(User.objects.create_superuser("ops@example.com", "an-operator-password"))
    registered, updated = one_request("request-one-1234")
    OutboxEvent.objects.filter(event_id=updated["event_id"]).update(
        created_at=timezone.now() - timedelta(seconds=30)
    )
    entries_append(envelopes=[registered])  # audit handled it: its entry is its record
    DeliveryFailure.objects.create(
        consumer="audit",
        event_id=updated["event_id"],
        event_type=updated["type"],
        attempt=0,
        error="x",
        transient=True,
    )
    deadletters.store(
        consumer="audit", envelope=updated, reason="permanent", error="boom", traceback="", attempts=1
    )

    view = operator.get("/api/v1/ops/pipeline").json()

    assert view["outbox"]["pending"] == 3  # the operator's UserRegistered and the request's two
    assert view["outbox"]["oldest_age_seconds"] >= 30
    audit = view["consumers"]["audit"]
    assert (audit["processed_last_hour"], audit["retried_last_hour"], audit["dead_letters"]) == (1, 1, 1)
    assert audit["latency_ms"]["p50"] is not None
    assert view["dead_letters"] == {"audit": 1}
    assert set(view["queues"]) >= {"audit", "notification", "notification.urgent", "integration", "identity"}
    assert view["circuits"] == {}


def test_the_pipeline_view_needs_its_permission():
    someone = APIClient()
    someone.force_authenticate(UserFactory(email="someone@example.com"))

    assert someone.get("/api/v1/ops/pipeline").status_code == 403


def test_trace_tells_each_event_and_what_each_consumer_did():
    registered, updated = one_request("request-two-5678")
    entries_append(envelopes=[registered])
    claim("integration", [(uuid.UUID(registered["event_id"]), timezone.now() - timedelta(milliseconds=40))])
    deadletters.store(
        consumer="audit", envelope=updated, reason="permanent", error="boom", traceback="", attempts=1
    )
    out = StringIO()

    call_command("trace", "request-two-5678", stdout=out)

    lines = out.getvalue().splitlines()
    assert "identity.user.registered #1" in lines[0]
    assert lines[1].split()[:2] == ["audit", "handled"]
    assert any(line.strip().startswith("audit") and "dead-lettered (permanent)" in line for line in lines)
    assert any(line.strip().startswith("integration") and "handled" in line for line in lines[:4])
    assert ProcessedEvent.objects.count() == 1  # trace only reads
