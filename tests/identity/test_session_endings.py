"""Locks, password changes and revocations end everything the user holds, in one transaction, as
production runs them (`transaction=True`: a test wrapped in a transaction hid a 500 on every admin
lock); a pending second-factor challenge dies with its session."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity.models import AuthSession, MFAChallenge, User
from identity.services.accounts import user_register
from tests.identity.support import PASSWORD, api, bearer, login, mark, types_since
from tests.identity.test_mfa import enrol_totp, totp_code
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice():
    return user_register(email="alice@example.com", password=PASSWORD)


@pytest.fixture
def operator():
    User.objects.create_superuser("root@example.com", PASSWORD)
    return bearer(login(api(), "root@example.com").json()["access"])


def refresh(token: str):
    return api().post("/api/v1/auth/token/refresh", {"refresh": token}, format="json")


def test_an_admin_lock_answers_200_and_ends_the_users_tokens_at_once(alice, operator):
    tokens = login(api(), alice.email).json()
    since = mark()

    locked = operator.post(f"/api/v1/admin/users/{alice.id}/lock", {}, format="json")

    assert locked.status_code == 200, locked.content
    assert locked.json()["locked_until"] is None
    assert bearer(tokens["access"]).get("/api/v1/me").status_code == 401
    assert refresh(tokens["refresh"]).status_code == 401
    assert AuthSession.objects.get(pk=tokens["session_id"]).end_reason == "user_locked"
    assert types_since(since) == ["user.locked", "token_family.revoked", "session.invalidated"]
    assert login(api(), alice.email).status_code == 423


def test_the_admin_sites_lock_action_ends_the_users_sessions(alice, client):
    tokens = login(api(), alice.email).json()
    admin_sign_in(client, User.objects.create_superuser("root@example.com", PASSWORD), PASSWORD)

    client.post("/admin/identity/user/", {"action": "lock_users", "_selected_action": [alice.pk]})

    alice.refresh_from_db()
    assert alice.lock_reason == "admin"
    assert bearer(tokens["access"]).get("/api/v1/me").status_code == 401


def _pending_challenge(user: User) -> dict:
    started = login(api(), user.email).json()
    assert started["mfa_required"] is True
    return started


def _verify(challenge_id, device: TOTPDevice):
    return api().post(
        "/api/v1/auth/mfa/verify",
        {"challenge_id": challenge_id, "code": totp_code(device, step_offset=1)},
        format="json",
    )


@pytest.mark.parametrize("ending", ["password_set_by_admin", "admin_lock", "session_revoked"])
def test_a_pending_challenge_dies_with_its_session(alice, operator, ending):
    device = enrol_totp(alice)
    challenge = _pending_challenge(alice)
    session = AuthSession.objects.get(mfa_challenge__id=challenge["challenge_id"])

    if ending == "password_set_by_admin":
        ended = operator.post(
            f"/api/v1/admin/users/{alice.id}/password",
            {"new_password": "An-other-Password-77"},
            format="json",
        )
    elif ending == "admin_lock":
        ended = operator.post(f"/api/v1/admin/users/{alice.id}/lock", {}, format="json")
    else:
        ended = operator.delete(f"/api/v1/admin/sessions/{session.pk}")
    assert ended.status_code in (200, 204), ended.content
    since = mark()

    verified = _verify(challenge["challenge_id"], device)

    assert verified.status_code == 410, verified.content
    assert verified.json()["error"]["code"] == "challenge_gone"
    assert "access" not in verified.json()
    assert MFAChallenge.objects.get(pk=challenge["challenge_id"]).status == MFAChallenge.Status.FAILED
    assert "user.logged_in" not in types_since(since)


def test_the_password_step_alone_does_not_make_an_address_known(alice, settings):
    """A good password from a new address, then no second factor: failures from that address are
    counted like a stranger's, so the owner's lock still applies to it."""
    enrol_totp(alice)
    thief = api(ip="203.0.113.66")
    thief.post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json")

    for _ in range(settings.IDENTITY["LOCKOUT_THRESHOLD"]):
        api(ip="198.51.100.200").post(
            "/api/v1/auth/login", {"email": alice.email, "password": "wrong-password"}, format="json"
        )

    again = thief.post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json")
    assert again.status_code == 423
