"""The read-only admin, the security view and the security-incidents API."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from audit.models import AuditEntry, AuditRetentionRun
from audit.services.ingestion import entries_append
from identity import events
from identity.models import User
from tests.audit.conftest import envelope, logged_in, token_issued, user_locked
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    admin_sign_in(
        client, User.objects.create_superuser("admin@example.com", "an-admin-password"), "an-admin-password"
    )
    return client


@pytest.fixture
def incident_story() -> dict:
    """A token reuse: the family revoked for reuse, with the refresh that revealed it."""
    user_id = uuid.uuid4()
    story = "reuse-story-1"
    reuse = envelope(
        events.TokenFamilyRevoked(
            session_id=uuid.uuid4(),
            user_id=user_id,
            family_id=uuid.uuid4(),
            reason="reuse_detected",
            tokens_revoked=3,
        ),
        correlation_id=story,
    )
    logout = envelope(
        events.TokenFamilyRevoked(
            session_id=uuid.uuid4(),
            user_id=user_id,
            family_id=uuid.uuid4(),
            reason="logout",
            tokens_revoked=1,
        )
    )
    entries_append(envelopes=[token_issued(user_id, correlation_id=story), reuse, logout, logged_in()])
    return {"user_id": str(user_id), "reuse": reuse, "correlation_id": story}


def test_the_changelist_filters_by_type_user_and_correlation_id(staff):
    alice = uuid.uuid4()
    entries_append(envelopes=[logged_in(alice, correlation_id="story-a"), user_locked(alice), logged_in()])
    url = reverse("admin:audit_auditentry_changelist")

    by_type = staff.get(url, {"type": "identity.user.locked"})
    by_user = staff.get(url, {"user_id": str(alice)})
    by_story = staff.get(url, {"correlation_id": "story-a"})

    assert by_type.status_code == by_user.status_code == by_story.status_code == 200
    assert [e.type for e in by_type.context["cl"].result_list] == ["identity.user.locked"]
    assert len(by_user.context["cl"].result_list) == 2
    assert len(by_story.context["cl"].result_list) == 1


def test_entries_are_read_only_in_the_admin(staff):
    entries_append(envelopes=[logged_in()])
    entry = AuditEntry.objects.get()

    shown = staff.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    changed = staff.post(reverse("admin:audit_auditentry_change", args=[entry.pk]), {"type": "x"})
    deleted = staff.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"})

    assert shown.status_code == 200
    assert changed.status_code == 403
    assert deleted.status_code == 403
    assert AuditEntry.objects.get().type == entry.type


def test_the_security_view_shows_incidents_with_their_related_events(staff, incident_story):
    page = staff.get(reverse("admin:audit_auditentry_security"))

    assert page.status_code == 200
    [item] = page.context["incidents"]
    assert str(item["incident"].event_id) == incident_story["reuse"]["event_id"]
    assert [e.type for e in item["related"]] == ["identity.token.issued"]


def test_the_security_api_answers_the_same(auditor, nobody, incident_story):
    answer = auditor.get("/api/v1/audit/security-incidents")

    assert nobody.get("/api/v1/audit/security-incidents").status_code == 403
    [item] = answer.json()["results"]
    assert item["incident"]["type"] == "identity.token_family.revoked"
    assert item["incident"]["severity"] == "high"
    assert [e["correlation_id"] for e in item["related"]] == [incident_story["correlation_id"]]


def test_retention_runs_are_listed_in_the_admin(staff):
    AuditRetentionRun.objects.create(status=AuditRetentionRun.Status.FAILED, error="RetentionRefused('x')")

    page = staff.get(reverse("admin:audit_auditretentionrun_changelist"))

    assert page.status_code == 200
    assert b"RetentionRefused" in page.content


def test_the_changelist_search_takes_any_text(staff):
    entries_append(envelopes=[logged_in(correlation_id="searched-story")])
    url = reverse("admin:audit_auditentry_changelist")

    found = staff.get(url, {"q": "searched-story"})

    assert found.status_code == 200
    assert len(found.context["cl"].result_list) == 1
