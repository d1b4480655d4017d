"""The ops API of the event bus: dead letters, the catalog, health and readiness."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.models import User
from identity_project.eventbus import deadletters
from identity_project.eventbus.models import DeadLetter
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("ops@example.com", "an-operator-password"))
    return client


@pytest.fixture
def letter() -> DeadLetter:
    envelope = {"event_id": str(uuid.uuid4()), "type": "tests.probe.requested", "data": {}}
    return deadletters.store(
        consumer="probe", envelope=envelope, reason="permanent", error="boom", traceback="", attempts=1
    )


def test_dead_letters_are_listed_for_an_operator_and_refused_to_others(operator, letter):
    user = APIClient()
    user.force_authenticate(UserFactory(email="someone@example.com"))

    refused = user.get("/api/v1/ops/dead-letters")
    listed = operator.get("/api/v1/ops/dead-letters?consumer=probe")

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["results"][0]["event_id"] == str(letter.event_id)


def test_discard_then_replay_is_a_conflict_and_leaves_the_letter_discarded(operator, letter):
    discarded = operator.post(f"/api/v1/ops/dead-letters/{letter.pk}/discard")
    replayed = operator.post(f"/api/v1/ops/dead-letters/{letter.pk}/replay")

    assert discarded.status_code == 200
    assert discarded.json()["status"] == "discarded"
    assert replayed.status_code == 409
    assert replayed.json()["error"]["code"] == "conflict"
    assert operator.get("/api/v1/ops/dead-letters").json()["count"] == 0
    assert operator.get("/api/v1/ops/dead-letters?status=all").json()["count"] == 1


def test_replay_through_the_api_marks_the_letter_replayed(operator, letter):
    response = operator.post(f"/api/v1/ops/dead-letters/{letter.pk}/replay")

    assert response.status_code == 200
    letter.refresh_from_db()
    assert (letter.status, letter.replay_count) == ("replayed", 1)


def test_unknown_dead_letters_and_statuses_get_the_error_shape(operator):
    missing = operator.post("/api/v1/ops/dead-letters/999999/replay")
    bad_status = operator.get("/api/v1/ops/dead-letters?status=whatever")

    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "No such dead letter.", "fields": {}}}
    assert bad_status.status_code == 400
    assert bad_status.json()["error"]["code"] == "validation_error"


def test_the_catalog_needs_a_signed_in_user(operator):
    anonymous = APIClient().get("/api/v1/events/catalog")
    catalog = operator.get("/api/v1/events/catalog")

    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert len(catalog.json()) == 67


def test_health_is_liveness_and_readiness_checks_database_broker_and_redis_and_names_the_broker_node(client):
    health = client.get("/healthz")
    ready = client.get("/readyz")

    assert health.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "redis": "ok"}
    broker = urlsplit(settings.CELERY_BROKER_URL)
    assert ready.json()["broker_node"] == f"{broker.hostname}:{broker.port}"


def test_an_unknown_url_answers_the_error_shape(client):
    response = client.get("/api/v1/nowhere")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
