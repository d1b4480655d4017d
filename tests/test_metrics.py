"""GET /metrics: counters from every process (this one, a real worker's children), the state read
from the database at scrape time, and who may scrape."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from audit.models import AuditEntry
from identity.services.accounts import user_register
from identity_project.eventbus.models import DeadLetter, OutboxEvent
from identity_project.eventbus.publisher import publish
from integration import services as integration_services
from integration.circuit import CircuitBreaker
from tests.identity.support import PASSWORD, api, login
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect
from tests.support.processes import wait_for

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(**request) -> Samples:
    response = Client().get("/metrics", **request)
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def sent_since(before: Samples, after: Samples) -> int:
    return sum(
        value - before.get(key, 0.0)
        for key, value in after.items()
        if key[0] == "eventbus_events_published_total"
    )


def all_audited(before: Samples) -> bool:
    """Every event committed since `before` was sent (the outbox is empty) and audited."""
    after = scrape()
    audited = moved(before, after, "eventbus_consumer_events_processed_total", consumer="audit")
    return not OutboxEvent.objects.exists() and audited == sent_since(before, after) > 0


def publish_probe(probe_id: str, action: str = "ok", **fields) -> dict:
    with transaction.atomic():
        return publish(ProbeRequested(probe_id=probe_id, action=action, **fields))


@pytest.mark.django_db(transaction=True)
def test_the_metrics_move_as_a_login_and_events_flow_through_a_real_worker(worker, probe_id):
    # given a user, and every event so far audited by the worker
    start = scrape()
    user = user_register(email="metrics@example.com", password=PASSWORD)
    wait_for(lambda: all_audited(start), what="the registration's events in audit")
    since = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    before = scrape()

    # when the user signs in once with a wrong and once with the right password, and probe
    # events succeed, fail for good, and fail once before they succeed
    assert login(api(), user.email, "not-the-password").status_code == 401
    assert login(api(), user.email).status_code == 200
    publish_probe(f"{probe_id}-ok-1")
    publish_probe(f"{probe_id}-ok-2")
    publish_probe(f"{probe_id}-permanent", "fail_permanent")
    publish_probe(f"{probe_id}-transient", "fail_transient", fail_times=1)
    wait_for(lambda: ProbeEffect.objects.filter(probe_id__startswith=probe_id).count() == 4, timeout=60)
    wait_for(lambda: all_audited(before), what="every event in audit")
    new_events = list(AuditEntry.objects.filter(id__gt=since).values_list("type", flat=True))
    # the worker counts an event right after its transaction commits, a moment after the row shows
    wait_for(
        lambda: (
            moved(before, scrape(), "eventbus_commit_to_handled_seconds_count", consumer="audit")
            >= len(new_events)
        ),
        what="the worker's counters",
    )
    wait_for(
        lambda: moved(before, scrape(), "eventbus_consumer_events_processed_total", consumer="probe") >= 3
    )
    after = scrape()

    # then each count moved by what happened, the worker's children's included
    for event_type, count in Counter(new_events).items():
        assert moved(before, after, "eventbus_events_published_total", type=event_type) == count, event_type
    assert Counter(new_events)["tests.probe.requested"] == 4
    assert moved(before, after, "identity_logins_total", outcome="succeeded") == 1
    assert moved(before, after, "identity_logins_total", outcome="bad_password") == 1
    probe = {"consumer": "probe"}
    assert moved(before, after, "eventbus_consumer_events_processed_total", **probe) == 3
    assert moved(before, after, "eventbus_consumer_events_failed_total", **probe) == 2
    assert moved(before, after, "eventbus_consumer_events_retried_total", **probe) == 1
    dead = {"consumer": "probe", "reason": DeadLetter.Reason.PERMANENT}
    assert moved(before, after, "eventbus_consumer_events_dead_lettered_total", **dead) == 1
    assert moved(before, after, "eventbus_handler_duration_seconds_count", **probe) == 3
    assert moved(before, after, "eventbus_commit_to_handled_seconds_count", **probe) == 3
    audit = {"consumer": "audit"}
    assert moved(before, after, "eventbus_consumer_events_processed_total", **audit) == len(new_events)
    assert moved(before, after, "eventbus_commit_to_handled_seconds_count", **audit) == len(new_events)
    assert value(after, "eventbus_dead_letters_pending", consumer="probe") == 1
    assert value(after, "eventbus_outbox_pending_events") == 0
    assert value(after, "eventbus_outbox_oldest_pending_age_seconds") == 0


@pytest.mark.django_db(transaction=True)
def test_the_backlog_and_its_oldest_row_are_read_from_the_database_at_scrape_time():
    # given two events no relay sent yet, the older one committed a minute ago
    older = publish_probe("backlog-1")
    publish_probe("backlog-2")
    OutboxEvent.objects.filter(event_id=older["event_id"]).update(
        created_at=timezone.now() - timedelta(seconds=60)
    )

    # when metrics are scraped
    samples = scrape()

    # then they show the backlog and its age
    assert value(samples, "eventbus_outbox_pending_events") == 2
    assert 60 <= value(samples, "eventbus_outbox_oldest_pending_age_seconds") < 3600


@pytest.mark.django_db
def test_each_webhook_circuit_shows_its_state(settings):
    # given one endpoint whose circuit opened after failures and one that works
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    failing, _ = integration_services.subscription_create(url="http://127.0.0.1:9/down", event_types=["*"])
    working, _ = integration_services.subscription_create(url="http://127.0.0.1:9/up", event_types=["*"])
    for _ in range(settings.WEBHOOK_CIRCUIT_THRESHOLD):
        CircuitBreaker(failing.pk).record_failure()

    # when metrics are scraped
    samples = scrape()

    # then each circuit has exactly its own state set
    assert value(samples, "circuit_state", circuit=str(failing.pk), state="open") == 1
    assert value(samples, "circuit_state", circuit=str(failing.pk), state="closed") == 0
    assert value(samples, "circuit_state", circuit=str(working.pk), state="closed") == 1
    assert value(samples, "circuit_state", circuit=str(working.pk), state="open") == 0


@pytest.mark.django_db
def test_metrics_are_refused_outside_the_allowed_networks_unless_the_token_is_right(settings):
    settings.METRICS_TOKEN = "a-scraper-token-of-the-tests"
    outside = {"REMOTE_ADDR": "203.0.113.7"}

    refused = Client().get("/metrics", **outside)
    wrong_token = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token", **outside)
    with_token = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer a-scraper-token-of-the-tests", **outside)
    posted = Client().post("/metrics")

    assert (refused.status_code, wrong_token.status_code, with_token.status_code) == (403, 403, 200)
    assert refused.json()["error"]["code"] == "permission_denied"
    assert set(refused.json()["error"]) == {"code", "message", "fields"}
    assert b"eventbus_outbox_pending_events" in with_token.content
    assert posted.status_code == 405
    assert posted.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_without_a_token_set_no_bearer_opens_the_metrics(settings):
    settings.METRICS_TOKEN = ""

    response = Client().get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 403
