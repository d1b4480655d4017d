"""Signing in with a passkey alone: the same guards as a password sign-in (address rules, lock,
the one 401 for unknown and bad credentials, single-use options), a cloned authenticator's
counter refused and alerted, and a passkey as a re-authentication."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from identity.api.throttles import AuthAccountThrottle
from identity.models import AuthSession, LoginAttempt, WebAuthnCeremony, WebAuthnDevice
from identity.services import ip_rules
from identity.services.accounts import user_register
from identity.services.lockout import user_lock
from notification.consumer import notification
from notification.models import Notification
from tests.identity.passkey_support import ORIGIN, RP_ID, b64, enrol_passkey
from tests.identity.support import (
    PASSWORD,
    api,
    assert_no_secrets,
    bearer,
    mark,
    published_since,
    types_since,
)
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("relying_party")]


def options() -> dict:
    answer = api().post("/api/v1/auth/passkey/options", format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def passkey_login(challenge_id, credential: dict, ip: str = "198.51.100.10"):
    body = {"challenge_id": challenge_id, "credential": credential}
    return api(ip).post("/api/v1/auth/passkey/login", body, format="json")


def test_a_passkey_signs_in_without_a_password(alice, authenticator):
    device = enrol_passkey(alice, authenticator)
    since = mark()

    offered = options()
    credential = authenticator.get(offered["options"])
    signed_in = passkey_login(offered["challenge_id"], credential)

    assert offered["options"]["allowCredentials"] == []
    assert offered["options"]["userVerification"] == "required"
    assert signed_in.status_code == 200, signed_in.content
    tokens = signed_in.json()
    assert bearer(tokens["access"]).get("/api/v1/me").json()["user_id"] == str(alice.id)
    events = published_since(since)
    assert [e.type for e in events] == ["session.created", "token.issued", "token.issued", "user.logged_in"]
    assert events[0].data["session_type"] == "passkey"
    assert events[0].data["requires_mfa"] is False
    assert (events[-1].data["method"], events[-1].data["mfa_used"]) == ("passkey", True)
    session = AuthSession.objects.get(pk=tokens["session_id"])
    assert (session.session_type, session.mfa_used) == ("passkey", True)
    assert WebAuthnDevice.objects.get(pk=device.pk).sign_count == 1
    assert_no_secrets(credential["response"]["signature"], credential["response"]["authenticatorData"])


def _refusals(stranger: SoftAuthenticator):
    def bad_signature(a, o):
        made = a.get(o)
        signature = made["response"]["signature"]
        flipped = ("B" if signature[30] == "A" else "A").join((signature[:30], signature[31:]))
        return {**made, "response": {**made["response"], "signature": flipped}}

    return {
        "an unknown credential": lambda a, o: stranger.get(o),
        "a bad signature": bad_signature,
        "another origin": lambda a, o: a.get(o, origin="https://phish.example.test"),
        "another relying party": lambda a, o: a.get(o, rp_id="phish.example.test"),
        "no user presence": lambda a, o: a.get(o, up=False),
        "no user verification": lambda a, o: a.get(o, uv=False),
    }


@pytest.mark.parametrize("case", list(_refusals(SoftAuthenticator(origin=ORIGIN))), ids=str)
def test_unknown_and_bad_credentials_get_the_same_401_and_open_nothing(alice, authenticator, case):
    enrol_passkey(alice, authenticator)
    stranger = SoftAuthenticator(origin=ORIGIN)
    # a passkey for our relying party that was never registered here
    stranger.create({"rp": {"id": RP_ID}, "user": {"id": b64(os.urandom(16))}, "challenge": "eA"})
    offered = options()
    sessions = AuthSession.objects.count()
    since = mark()

    refused = passkey_login(
        offered["challenge_id"], _refusals(stranger)[case](authenticator, offered["options"])
    )

    assert refused.status_code == 401, refused.content
    assert refused.json() == {
        "error": {"code": "invalid_credentials", "message": "The passkey was not accepted.", "fields": {}}
    }
    failed = [e.data for e in published_since(since)]
    assert [(f["reason"], f["door"]) for f in failed] == [
        ("unknown_user" if case == "an unknown credential" else "bad_password", "api")
    ]
    assert failed[0]["user_id"] == (None if case == "an unknown credential" else str(alice.id))
    assert AuthSession.objects.count() == sessions
    assert WebAuthnDevice.objects.get(user=alice).sign_count == 0


def test_options_are_answered_once_and_only_before_they_expire(alice, authenticator):
    enrol_passkey(alice, authenticator)
    first = options()
    credential = authenticator.get(first["options"])
    assert passkey_login(first["challenge_id"], credential).status_code == 200
    late = options()
    WebAuthnCeremony.objects.filter(pk=late["challenge_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    since = mark()

    replayed = passkey_login(first["challenge_id"], credential)
    expired = passkey_login(late["challenge_id"], authenticator.get(late["options"]))
    mismatched = passkey_login(options()["challenge_id"], authenticator.get(options()["options"]))

    assert [r.status_code for r in (replayed, expired, mismatched)] == [410, 410, 410]
    assert {r.json()["error"]["code"] for r in (replayed, expired, mismatched)} == {"challenge_gone"}
    assert types_since(since) == []
    assert AuthSession.objects.count() == 2  # the enrolment's sign-in and the first passkey one


def test_a_locked_account_and_a_refused_address_are_answered_before_the_signature(alice, authenticator):
    enrol_passkey(alice, authenticator)
    user_lock(user=alice, reason="admin")
    offered = options()
    since = mark()

    locked = passkey_login(offered["challenge_id"], authenticator.get(offered["options"]))
    ip_rules.ip_rule_add(cidr="192.0.2.0/24", list="block", reason="test")
    offered = options()
    blocked = passkey_login(offered["challenge_id"], authenticator.get(offered["options"]), ip="192.0.2.7")

    assert (locked.status_code, locked.json()["error"]["code"]) == (423, "account_locked")
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (403, "ip_blocked")
    reasons = [e.data["reason"] for e in published_since(since) if e.type == "user.login_failed"]
    assert reasons == ["locked", "ip_blocked"]
    assert WebAuthnDevice.objects.get(user=alice).sign_count == 0
    assert AuthSession.objects.filter(status=AuthSession.Status.ACTIVE).count() == 0


def test_bad_assertions_lock_like_wrong_passwords_and_an_unknown_passkey_looks_the_same(
    alice, authenticator, settings
):
    """A 423 must not tell a registered passkey from one that is not (as for unknown e-mails)."""
    enrol_passkey(alice, authenticator)
    stranger = SoftAuthenticator(origin=ORIGIN)
    stranger.create({"rp": {"id": RP_ID}, "user": {"id": b64(os.urandom(16))}, "challenge": "eA"})
    threshold = settings.IDENTITY["LOCKOUT_THRESHOLD"]

    def tries(answer) -> list[int]:
        statuses = []
        for _ in range(threshold + 1):
            offered = options()
            statuses.append(passkey_login(offered["challenge_id"], answer(offered["options"])).status_code)
        return statuses

    known = tries(lambda o: authenticator.get(o, uv=False))
    unknown = tries(stranger.get)

    assert known == unknown == [401] * threshold + [423]
    assert (
        LoginAttempt.objects.filter(user=alice, succeeded=False, reason="bad_password").count() == threshold
    )


def test_a_cloned_authenticators_counter_is_refused_and_alerts_the_admins(alice, authenticator, admin_user):
    enrol_passkey(alice, authenticator)
    for _ in range(3):
        offered = options()
        assert (
            passkey_login(offered["challenge_id"], authenticator.get(offered["options"])).status_code == 200
        )
    offered = options()
    since = mark()

    clone = passkey_login(offered["challenge_id"], authenticator.get(offered["options"], counter=2))

    assert clone.status_code == 401
    alerts = [e.data for e in published_since(since) if e.type == "security_alert.raised"]
    assert [(a["severity"], a["category"], a["user_id"]) for a in alerts] == [
        ("high", "cloned_authenticator", str(alice.id))
    ]
    assert WebAuthnDevice.objects.get(user=alice).sign_count == 3
    assert AuthSession.objects.filter(session_type="passkey").count() == 3
    # notification's rules for the alert: the admins are told, and so is the user, in-app at once
    alert = next(e.envelope for e in published_since(since) if e.type == "security_alert.raised")
    assert notification.process([alert], attempt=0) == []
    told = {n.user_id: n for n in Notification.objects.filter(event_id=alert["event_id"])}
    assert set(told) == {admin_user.id, alice.id}
    assert "cloned" in told[admin_user.id].body
    assert told[alice.id].title == "One of your passkeys may have been copied"
    assert "remove that passkey" in told[alice.id].body


def test_a_passkey_re_authenticates_a_session(alice, authenticator, settings):
    enrol_passkey(alice, authenticator)
    offered = options()
    tokens = passkey_login(offered["challenge_id"], authenticator.get(offered["options"])).json()
    long_ago = timezone.now() - timedelta(seconds=settings.IDENTITY["REAUTH_SECONDS"] + 1)
    AuthSession.objects.filter(pk=tokens["session_id"]).update(authenticated_at=long_ago)
    client = bearer(tokens["access"])
    since = mark()

    refused = client.post(
        "/api/v1/auth/reauthenticate",
        {"credential": authenticator.get(options()["options"], uv=False)},
        format="json",
    )
    proved = client.post(
        "/api/v1/auth/reauthenticate", {"credential": authenticator.get(options()["options"])}, format="json"
    )
    backup = client.post("/api/v1/me/mfa/backup-codes")

    assert refused.status_code == 401
    assert proved.status_code == 204, proved.content
    assert backup.status_code == 200
    events = [(e.type, e.data) for e in published_since(since)]
    assert events[0][0] == "mfa_code.verification_failed"
    assert (events[0][1]["context"], events[0][1]["method"]) == ("step_up", "webauthn")
    assert events[1] == (
        "user.reauthenticated",
        {"user_id": str(alice.id), "session_id": tokens["session_id"], "method": "webauthn"},
    )


def test_another_users_passkey_does_not_re_authenticate(alice, authenticator):
    bobs = SoftAuthenticator(origin=ORIGIN)
    enrol_passkey(user_register(email="bob@example.com", password=PASSWORD), bobs)
    enrol_passkey(alice, authenticator)
    offered = options()
    tokens = passkey_login(offered["challenge_id"], authenticator.get(offered["options"])).json()
    since = mark()

    answer = bearer(tokens["access"]).post(
        "/api/v1/auth/reauthenticate", {"credential": bobs.get(options()["options"])}, format="json"
    )

    assert answer.status_code == 401
    assert types_since(since) == ["mfa_code.verification_failed"]


def test_a_passkey_sign_in_is_scored_for_risk_and_not_asked_for_another_factor(
    alice, authenticator, settings
):
    """New browser, new network: high risk (with this threshold). A password would now be asked for
    the second factor even on a trusted browser; the passkey is that factor already."""
    enrol_passkey(alice, authenticator)
    settings.IDENTITY = {**settings.IDENTITY, "RISK_HIGH": 40}
    offered = options()
    body = {
        "challenge_id": offered["challenge_id"],
        "credential": authenticator.get(offered["options"]),
        "device_fingerprint": "raw-fingerprint-of-a-new-phone",
    }
    since = mark()

    signed_in = api("203.0.113.80").post("/api/v1/auth/passkey/login", body, format="json")
    by_password = api("203.0.113.80").post(
        "/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json"
    )

    assert "access" in signed_in.json(), signed_in.content
    assert by_password.json()["mfa_required"] is True
    events = {e.type: e.data for e in published_since(since)}
    assert events["suspicious_login.detected"]["risk_level"] == "high"
    assert sorted(events["suspicious_login.detected"]["risk_factors"]) == ["new_device", "new_network"]
    assert events["device.registered"]["user_id"] == str(alice.id)
    assert AuthSession.objects.get(pk=signed_in.json()["session_id"]).device.user_id == alice.id
    assert_no_secrets("raw-fingerprint-of-a-new-phone")


def test_an_inactive_account_gets_the_same_401(alice, authenticator):
    enrol_passkey(alice, authenticator)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    offered = options()
    since = mark()

    refused = passkey_login(offered["challenge_id"], authenticator.get(offered["options"]))

    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "The passkey was not accepted."
    assert [(e.type, e.data["reason"]) for e in published_since(since)] == [("user.login_failed", "inactive")]


def test_too_many_attempts_with_one_passkey_are_throttled_like_one_account(alice, authenticator, monkeypatch):
    enrol_passkey(alice, authenticator)
    monkeypatch.setattr(AuthAccountThrottle, "rate", "3/min", raising=False)

    statuses = []
    for i in range(4):
        offered = options()
        credential = authenticator.get(offered["options"], uv=False)
        statuses.append(passkey_login(offered["challenge_id"], credential, ip=f"192.0.2.{i}").status_code)

    assert statuses == [401, 401, 401, 429]
