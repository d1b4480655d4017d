"""Sign-in, refresh with rotation and reuse detection, logout, password change: events and tokens."""

from __future__ import annotations

import pytest

from identity.models import AuthSession, RefreshToken
from tests.identity.support import (
    PASSWORD,
    api,
    assert_no_secrets,
    bearer,
    login,
    mark,
    published_since,
    types_since,
)

pytestmark = pytest.mark.django_db


def test_registration_then_login_publish_their_events_in_order_under_one_correlation_id():
    # given a new account
    client = api()
    registered = client.post(
        "/api/v1/auth/register", {"email": "Bob@Example.com", "password": PASSWORD}, format="json"
    )
    assert registered.status_code == 201
    assert registered.json()["email"] == "bob@example.com"
    since = mark()

    # when it signs in
    response = login(client, "bob@example.com")

    # then tokens come back and the login's events follow each other under one correlation id
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "session_id", "user_id"}
    events = published_since(since)
    assert [e.type for e in events] == [
        "session.created", "token.issued", "token.issued", "user.logged_in",
    ]  # fmt: skip
    assert len({e.envelope["correlation_id"] for e in events}) == 1
    created, access, refresh, logged_in = events
    assert created.data["session_id"] == body["session_id"]
    assert created.data["session_type"] == "password"
    assert created.data["requires_mfa"] is False
    assert created.data["ip_address"] == "198.51.100.10"
    assert (access.data["token_type"], refresh.data["token_type"]) == ("access", "refresh")
    assert access.data["family_id"] == refresh.data["family_id"]
    assert logged_in.data == {
        "user_id": body["user_id"], "session_id": body["session_id"], "ip_address": "198.51.100.10",
        "user_agent": "pytest-browser/1.0", "mfa_used": False, "device_id": None, "door": "api",
        "method": "password",
    }  # fmt: skip
    assert [e.envelope["sequence"] for e in events if e.envelope["aggregate_type"] == "session"] == [1, 2, 3]
    assert logged_in.envelope["actor"] == {"type": "user", "id": body["user_id"]}
    assert_no_secrets(PASSWORD, body["access"], body["refresh"])


def test_refresh_rotates_the_pair_and_a_reused_refresh_token_kills_the_family_and_the_session(alice):
    # given a signed-in user who refreshed once
    tokens = login(api(), alice.email).json()
    rotated = api().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh"] != tokens["refresh"]
    assert new["access"] != tokens["access"]
    assert bearer(new["access"]).get("/api/v1/me").status_code == 200
    since = mark()

    # when the first refresh token is used a second time (a thief replays it)
    reused = api().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    # then: 401 token_reused, the family and the session are revoked, every token of it fails at once
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_reused"
    assert types_since(since) == ["token_family.revoked", "session.invalidated"]
    revoked, invalidated = published_since(since)
    assert revoked.data["reason"] == "reuse_detected"
    assert revoked.data["tokens_revoked"] == 1
    assert invalidated.data["reason"] == "token_reuse"
    assert bearer(new["access"]).get("/api/v1/me").status_code == 401
    assert bearer(tokens["access"]).get("/api/v1/me").status_code == 401
    again = api().post("/api/v1/auth/token/refresh", {"refresh": new["refresh"]}, format="json")
    assert again.status_code == 401
    assert not RefreshToken.objects.filter(revoked_at__isnull=True, used_at__isnull=True).exists()
    assert_no_secrets(tokens["refresh"], new["refresh"], new["access"])


def test_refresh_publishes_the_rotation(alice):
    tokens = login(api(), alice.email).json()
    since = mark()

    api().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert types_since(since) == ["token.issued", "token.issued", "token.refreshed", "session.refreshed"]


def test_logout_ends_the_session_and_its_access_token_fails_at_once(alice):
    tokens = login(api(), alice.email).json()
    client = bearer(tokens["access"])
    since = mark()

    response = client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204
    assert types_since(since) == ["token.revoked", "token_family.revoked", "session.terminated"]
    assert published_since(since)[2].data["reason"] == "logout"
    assert client.get("/api/v1/me").status_code == 401
    refresh = api().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refresh.status_code == 401


def test_password_change_ends_the_other_sessions_at_once_and_keeps_this_one(alice):
    laptop = login(api(), alice.email).json()
    phone = login(api("203.0.113.5"), alice.email).json()
    since = mark()

    response = bearer(laptop["access"]).post(
        "/api/v1/me/password",
        {"current_password": PASSWORD, "new_password": "An-Entirely-New-Secret-7"},
        format="json",
    )

    assert response.status_code == 204
    assert bearer(phone["access"]).get("/api/v1/me").status_code == 401
    assert bearer(laptop["access"]).get("/api/v1/me").status_code == 200
    assert types_since(since) == [
        "user.reauthenticated", "token_family.revoked", "session.invalidated", "password.changed",
    ]  # fmt: skip
    changed = published_since(since)[-1]
    assert changed.data == {"user_id": str(alice.id), "method": "change", "sessions_invalidated": 1}
    assert login(api(), alice.email).status_code == 401
    assert_no_secrets("An-Entirely-New-Secret-7", PASSWORD)


def test_a_wrong_current_password_changes_nothing_but_is_counted_as_a_failed_sign_in(alice):
    tokens = login(api(), alice.email).json()
    since = mark()

    response = bearer(tokens["access"]).post(
        "/api/v1/me/password",
        {"current_password": "nope", "new_password": "An-Entirely-New-Secret-7"},
        format="json",
    )

    assert response.status_code == 400
    assert "current_password" in response.json()["error"]["fields"]
    assert types_since(since) == ["user.login_failed"]
    assert bearer(tokens["access"]).get("/api/v1/me").status_code == 200
    assert login(api(), alice.email).status_code == 200


def test_own_sessions_are_listed_and_one_can_be_ended_but_not_someone_elses(alice):
    mine = login(api(), alice.email).json()
    other = login(api("203.0.113.9"), alice.email).json()
    from identity.services.accounts import user_register

    bob = user_register(email="bob@example.com", password=PASSWORD)
    bobs = login(api(), bob.email).json()
    client = bearer(mine["access"])

    listed = client.get("/api/v1/me/sessions").json()
    foreign = client.delete(f"/api/v1/me/sessions/{bobs['session_id']}")
    ended = client.delete(f"/api/v1/me/sessions/{other['session_id']}")

    assert {s["session_id"] for s in listed["results"]} == {mine["session_id"], other["session_id"]}
    assert [s["current"] for s in listed["results"] if s["session_id"] == mine["session_id"]] == [True]
    assert foreign.status_code == 404
    assert ended.status_code == 204
    assert bearer(other["access"]).get("/api/v1/me").status_code == 401
    assert bearer(bobs["access"]).get("/api/v1/me").status_code == 200
    assert AuthSession.objects.get(pk=other["session_id"]).end_reason == "user_revoked"


def test_the_sweep_expires_sessions_past_their_lifetime(alice):
    from datetime import timedelta

    from django.utils import timezone

    from identity.services.sessions import sessions_expire_due

    tokens = login(api(), alice.email).json()
    AuthSession.objects.filter(pk=tokens["session_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    since = mark()

    expired = sessions_expire_due()

    assert expired == 1
    assert types_since(since) == ["token_family.revoked", "session.expired"]
    assert published_since(since)[0].data["reason"] == "session_ended"
    assert bearer(tokens["access"]).get("/api/v1/me").status_code == 401
