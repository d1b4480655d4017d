"""GET audit/events: filters, newest first, cursor pagination, permissions, and index use."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEntry
from audit.selectors import entries_search
from audit.services.ingestion import entries_append
from tests.audit.conftest import logged_in, token_issued, user_locked

pytestmark = pytest.mark.django_db


def test_filters_combine_and_results_come_newest_first(auditor):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    entries_append(envelopes=[logged_in(alice), token_issued(alice), user_locked(alice), logged_in(bob)])

    everything = auditor.get("/api/v1/audit/events").json()["results"]
    alices = auditor.get(f"/api/v1/audit/events?user_id={alice}").json()["results"]
    high = auditor.get(f"/api/v1/audit/events?user_id={alice}&severity=high").json()["results"]
    logins = auditor.get("/api/v1/audit/events?type=identity.user.logged_in").json()["results"]

    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    assert [e["type"] for e in alices] == [
        "identity.user.locked",
        "identity.token.issued",
        "identity.user.logged_in",
    ]
    assert [e["type"] for e in high] == ["identity.user.locked"]
    assert {e["user_id"] for e in logins} == {str(alice), str(bob)}


def test_correlation_aggregate_and_time_filters(auditor):
    story = logged_in(correlation_id="login-story-1")
    entries_append(envelopes=[story, token_issued(correlation_id="login-story-1"), logged_in()])
    now = timezone.now()

    by_story = auditor.get("/api/v1/audit/events?correlation_id=login-story-1").json()["results"]
    by_aggregate = auditor.get(f"/api/v1/audit/events?aggregate_id={story['aggregate_id']}").json()["results"]
    past = auditor.get("/api/v1/audit/events", {"until": (now - dt.timedelta(hours=1)).isoformat()}).json()[
        "results"
    ]
    recent = auditor.get("/api/v1/audit/events", {"since": (now - dt.timedelta(hours=1)).isoformat()}).json()[
        "results"
    ]

    assert len(by_story) == 2
    assert [e["event_id"] for e in by_aggregate] == [story["event_id"]]
    assert (len(past), len(recent)) == (0, 3)


def test_the_cursor_walks_every_entry_once(auditor):
    entries_append(envelopes=[logged_in() for _ in range(25)])

    seen, url = [], "/api/v1/audit/events?page_size=10"
    while url:
        page = auditor.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]

    assert len(seen) == len(set(seen)) == 25
    assert seen == sorted(seen, reverse=True)


def test_bad_filters_and_missing_permission_get_the_error_shape(auditor, nobody):
    refused = nobody.get("/api/v1/audit/events")
    bad_severity = auditor.get("/api/v1/audit/events?severity=apocalyptic")
    unknown = auditor.get("/api/v1/audit/events?usr=1")

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert bad_severity.status_code == 400
    assert "severity" in bad_severity.json()["error"]["fields"]
    assert unknown.status_code == 400
    assert "usr" in unknown.json()["error"]["fields"]


def _bulk_rows(count: int) -> None:
    """Rows straight into the table (the chain does not matter to query plans), newer ids newer
    in time, each filtered value a small share of the log as in a real one."""
    now = timezone.now()
    types = [f"identity.kind_{i}.happened" for i in range(400)]
    AuditEntry.objects.bulk_create(
        (
            AuditEntry(
                event_id=uuid.uuid4(),
                type=types[i % 400],
                version=1,
                source="identity",
                aggregate_type="user",
                aggregate_id=f"aggregate-{i % 5000}",
                sequence=i,
                actor_type="system",
                correlation_id=f"correlation-{i % 3000}",
                occurred_at=now - dt.timedelta(seconds=count - i),
                data={},
                user_id=f"user-{i % 2000}",
                severity="high" if i % 100 == 0 else "medium" if i % 10 == 0 else "low",
                category="other",
            )
            for i in range(count)
        ),
        batch_size=5000,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")
def test_the_common_filters_use_their_index():
    # given enough rows for the statistics to mean something
    _bulk_rows(20000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditentry")
    now = timezone.now()
    expected = [
        ({"type": "identity.kind_7.happened"}, "audit_type_idx"),
        ({"user_id": "user-17"}, "audit_user_idx"),
        ({"aggregate_id": "aggregate-42"}, "audit_aggregate_id_idx"),
        ({"correlation_id": "correlation-9"}, "audit_correlation_idx"),
        ({"severity": "high"}, "audit_severity_idx"),
        ({"type": "identity.kind_7.happened", "since": now - dt.timedelta(hours=1)}, "audit_type_idx"),
        # Time windows alone: ids grow with time, so newest first may walk the primary key.
        ({"since": now - dt.timedelta(minutes=30)}, "Index"),
        ({"until": now - dt.timedelta(hours=5)}, "Index"),
    ]

    # when the planner is asked for the first page of each search
    plans = [(filters, index, entries_search(**filters)[:51].explain()) for filters, index in expected]

    # then each reads the filter's index, never the whole table
    for filters, index, plan in plans:
        assert index in plan, (filters, plan)
        assert "Seq Scan" not in plan, (filters, plan)
