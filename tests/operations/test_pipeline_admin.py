"""The admin's Event pipeline page: the last hour drawn from the database, dead letters replayed
or discarded with its buttons, and only for staff holding the ops permissions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from identity import events
from identity.models import Permission, PermissionGrant
from identity_project.eventbus import deadletters
from identity_project.eventbus.models import DeadLetter, OutboxEvent, ProcessedEvent
from identity_project.eventbus.publisher import publish
from operations import charts, timeline
from tests.factories import UserFactory
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db

PAGE = "/admin/pipeline/"


def staff(email: str, *codenames: str) -> Client:
    user = UserFactory(email=email, password="a-staff-password", staff=True)
    for codename in codenames:
        permission, _ = Permission.objects.get_or_create(codename=codename, defaults={"name": codename})
        PermissionGrant.objects.create(user=user, permission=permission)
    return admin_sign_in(Client(), user, "a-staff-password")


def committed_event(*, handled_after_ms: float, consumer: str = "integration") -> dict:
    """An event in the outbox, handled by `consumer` the given time after its commit."""
    with transaction.atomic():
        envelope = publish(events.UserUpdated(user_id=uuid.uuid4(), changed_fields=["full_name"]))
    row = OutboxEvent.objects.get(event_id=envelope["event_id"])
    ProcessedEvent.objects.create(
        consumer=consumer,
        event_id=row.event_id,
        occurred_at=row.created_at,
        processed_at=row.created_at + timedelta(milliseconds=handled_after_ms),
    )
    return envelope


def dead_letter(consumer: str = "audit") -> DeadLetter:
    envelope = committed_event(handled_after_ms=5, consumer="notification")
    return deadletters.store(
        consumer=consumer, envelope=envelope, reason="permanent", error="boom", traceback="", attempts=1
    )


def test_the_last_hour_counts_each_minute_per_consumer_and_its_latency_percentiles():
    # given three events handled this minute: two by integration (100 and 300 ms), one by notification
    committed_event(handled_after_ms=100)
    committed_event(handled_after_ms=300)
    committed_event(handled_after_ms=700, consumer="notification")

    hour = timeline.last_hour(["audit", "notification", "integration"])

    assert len(hour.minutes) == 60
    assert hour.minutes[-1] == timezone.now().replace(second=0, microsecond=0)
    assert (hour.throughput["integration"][-1], hour.throughput["notification"][-1]) == (2, 1)
    assert sum(hour.throughput["audit"]) == 0
    # percentile_cont over 100, 300, 700: the median and the interpolated 95th
    assert hour.latency_ms["p50"][-1] == pytest.approx(300)
    assert hour.latency_ms["p95"][-1] == pytest.approx(660)
    assert hour.latency_ms["p50"][:-1] == [None] * 59


def test_events_older_than_the_hour_are_left_out():
    envelope = committed_event(handled_after_ms=50)
    ProcessedEvent.objects.filter(event_id=envelope["event_id"]).update(
        processed_at=timezone.now() - timedelta(minutes=61)
    )

    hour = timeline.last_hour(["integration"])

    assert sum(hour.throughput["integration"]) == 0
    assert hour.latency_ms["p95"] == [None] * 60


def test_the_page_draws_both_charts_and_lists_consumers_queues_and_dead_letters():
    committed_event(handled_after_ms=120)
    letter = dead_letter()
    operator = staff("ops@example.com", "ops.view_pipeline", "ops.manage_dead_letters")

    page = operator.get(PAGE)

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="pipeline-chart"') == 2
    assert 'aria-label="Events handled per minute and consumer, last hour"' in html
    assert ">integration (1)</text>" in html
    assert ">p50</text>" in html
    assert ">p95</text>" in html
    assert "events handled per minute" in html
    assert "commit to handled (ms)" in html
    assert f'id="dead-letter-{letter.pk}"' in html
    assert f"/admin/pipeline/dead-letters/{letter.pk}/replay" in html
    assert 'id="dead-letters-pending">1<' in html
    assert "notification.urgent" in html  # a queue depth, from RabbitMQ
    assert "No circuit is open" in html


def test_the_index_links_the_page_for_those_who_may_see_it():
    viewer = staff("viewer@example.com", "ops.view_pipeline")
    other = staff("other@example.com")

    assert 'href="/admin/pipeline/"' in viewer.get("/admin/").content.decode()
    assert "/admin/pipeline/" not in other.get("/admin/").content.decode()


def test_staff_without_the_ops_permission_is_refused():
    assert staff("staff@example.com").get(PAGE).status_code == 403
    assert Client().get(PAGE).status_code == 302  # to the admin's login


def test_a_viewer_without_the_dead_letter_permission_gets_no_buttons_and_cannot_replay():
    letter = dead_letter()
    viewer = staff("viewer@example.com", "ops.view_pipeline")

    page = viewer.get(PAGE).content.decode()
    refused = viewer.post(f"/admin/pipeline/dead-letters/{letter.pk}/replay")

    assert f'id="dead-letter-{letter.pk}"' in page
    assert "/replay" not in page
    assert refused.status_code == 403
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.PENDING


def test_replay_sends_the_letter_again_and_says_so():
    letter = dead_letter()
    operator = staff("ops@example.com", "ops.view_pipeline", "ops.manage_dead_letters")

    answer = operator.post(f"/admin/pipeline/dead-letters/{letter.pk}/replay", follow=True)

    letter.refresh_from_db()
    assert (letter.status, letter.replay_count) == (DeadLetter.Status.REPLAYED, 1)
    assert answer.redirect_chain[-1][0] == PAGE
    assert f"Dead letter {letter.pk} (identity.user.updated for audit) replayed." in answer.content.decode()
    assert f'id="dead-letter-{letter.pk}"' not in answer.content.decode()


def test_discard_gives_up_on_the_letter_and_a_discarded_one_cannot_be_replayed():
    letter = dead_letter()
    operator = staff("ops@example.com", "ops.view_pipeline", "ops.manage_dead_letters")

    discarded = operator.post(f"/admin/pipeline/dead-letters/{letter.pk}/discard", follow=True)
    replayed = operator.post(f"/admin/pipeline/dead-letters/{letter.pk}/replay", follow=True)

    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.DISCARDED
    assert "discarded." in discarded.content.decode()
    assert "a discarded dead letter cannot be replayed" in replayed.content.decode()


def test_the_buttons_take_only_a_post_of_a_known_action_on_a_known_letter():
    letter = dead_letter()
    operator = staff("ops@example.com", "ops.view_pipeline", "ops.manage_dead_letters")

    assert operator.get(f"/admin/pipeline/dead-letters/{letter.pk}/replay").status_code == 405
    assert operator.post(f"/admin/pipeline/dead-letters/{letter.pk}/delete").status_code == 404
    assert operator.post("/admin/pipeline/dead-letters/999999/replay").status_code == 404
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.PENDING


def test_the_buttons_need_the_csrf_token():
    letter = dead_letter()
    operator = staff("ops@example.com", "ops.view_pipeline", "ops.manage_dead_letters")
    operator.handler.enforce_csrf_checks = True

    assert operator.post(f"/admin/pipeline/dead-letters/{letter.pk}/replay").status_code == 403
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.PENDING


def test_a_chart_rounds_its_axis_escapes_names_and_leaves_gaps_where_no_event_was():
    minutes = timeline.last_hour([]).minutes[:3]

    svg = charts.line_chart(
        minutes=minutes, series={"<b>x</b>": [1, None, 7]}, unit="events", label="a & b", whole=True
    )

    assert charts.axis_ticks(7, whole=True) == [0, 2, 4, 6, 8]
    assert charts.axis_ticks(237, whole=False) == [0, 100, 200, 300]
    assert charts.axis_ticks(0.3, whole=True) == [0, 1]
    assert "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "<b>" not in svg
    assert 'aria-label="a &amp; b"' in svg
    assert svg.count("<circle") == 2  # two lone points, no line across the gap
    assert " L" not in svg.split('d="')[1].split('"')[0]
