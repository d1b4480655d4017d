"""Re-authentication ("sudo mode"): a stolen access token alone cannot make a sensitive change,
and guessing the password or a code through a signed-in session counts like a failed sign-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.throttling import SimpleRateThrottle

from identity.models import AuthSession, Device, LoginAttempt, User
from identity.services.accounts import user_register
from identity.services.mfa_devices import backup_codes_generate
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
from tests.identity.test_mfa import enrol_totp, totp_code

pytestmark = pytest.mark.django_db

HOME = "198.51.100.10"
ATTACKER = "203.0.113.66"
NEW_PASSWORD = "An-Entirely-New-Secret-7"


def signed_in(user: User, ip: str = HOME) -> dict:
    body = {"email": user.email, "password": PASSWORD, "device_fingerprint": "laptop"}
    tokens = api(ip).post("/api/v1/auth/login", body, format="json").json()
    assert "access" in tokens, tokens
    return tokens


def make_stale(session_id, settings) -> None:
    """The sign-in was longer ago than REAUTH_SECONDS: what a token stolen later looks like."""
    long_ago = timezone.now() - timedelta(seconds=settings.IDENTITY["REAUTH_SECONDS"] + 1)
    AuthSession.objects.filter(pk=session_id).update(authenticated_at=long_ago)


def reauthenticate(client, **body):
    return client.post("/api/v1/auth/reauthenticate", body, format="json")


def factors_and_device(user: User) -> tuple[TOTPDevice, Device]:
    """A confirmed authenticator and backup codes, added after the sign-in (which needed none)."""
    totp = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    backup_codes_generate(user=user)
    return totp, Device.objects.get(user=user)


def state(user: User) -> dict:
    return {
        "totp": list(TOTPDevice.objects.filter(user=user).values_list("pk", "confirmed")),
        "email_devices": EmailDevice.objects.filter(user=user).count(),
        "codes": sorted(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)),
        "trusted_until": list(Device.objects.filter(user=user).values_list("trusted_until", flat=True)),
        "email": User.objects.get(pk=user.pk).email,
    }


SENSITIVE = {
    "remove a factor": lambda c, totp, device: c.delete(f"/api/v1/me/mfa/devices/totp-{totp.pk}"),
    "add a factor": lambda c, totp, device: c.post(
        "/api/v1/me/mfa/devices", {"method": "email"}, format="json"
    ),
    "new backup codes": lambda c, totp, device: c.post("/api/v1/me/mfa/backup-codes"),
    "trust a device": lambda c, totp, device: c.post(f"/api/v1/me/devices/{device.id}/trust"),
    "change the e-mail": lambda c, totp, device: c.patch(
        "/api/v1/me", {"email": "mallory@example.com"}, format="json"
    ),
}


@pytest.mark.parametrize("change", SENSITIVE.values(), ids=SENSITIVE.keys())
def test_a_stolen_access_token_cannot_make_a_sensitive_change(alice, settings, change):
    # given a session signed in longer ago than REAUTH_SECONDS, its token in another's hands
    tokens = signed_in(alice)
    totp, device = factors_and_device(alice)
    settings.IDENTITY = {**settings.IDENTITY, "REAUTH_SECONDS": 0}
    before, since = state(alice), mark()

    # when the token is used for a sensitive change
    response = change(bearer(tokens["access"], ATTACKER), totp, device)

    # then it is refused in the error shape, and nothing changed
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "reauthentication_required"
    assert state(alice) == before
    assert types_since(since) == []


def test_after_reauthenticating_with_the_password_the_same_token_makes_each_change(alice, settings):
    tokens = signed_in(alice)
    totp, device = factors_and_device(alice)
    make_stale(tokens["session_id"], settings)
    client = bearer(tokens["access"])

    proved = reauthenticate(client, password=PASSWORD)
    answers = {name: change(client, totp, device).status_code for name, change in SENSITIVE.items()}

    assert proved.status_code == 204, proved.content
    assert answers == {
        "remove a factor": 204,
        "add a factor": 201,
        "new backup codes": 200,
        "trust a device": 200,
        "change the e-mail": 200,
    }
    assert not TOTPDevice.objects.filter(pk=totp.pk).exists()
    assert User.objects.get(pk=alice.pk).email == "mallory@example.com"


def test_reading_and_other_edits_need_no_recent_authentication(alice, settings):
    tokens = signed_in(alice)
    make_stale(tokens["session_id"], settings)
    client = bearer(tokens["access"])

    answers = [
        client.get("/api/v1/me/mfa/devices").status_code,
        client.patch("/api/v1/me", {"full_name": "Alice"}, format="json").status_code,
        client.patch("/api/v1/me", {"email": alice.email.upper()}, format="json").status_code,
    ]

    assert answers == [200, 200, 200]


def test_a_sign_in_is_a_reauthentication_only_once_its_second_factor_is_given(alice):
    device = enrol_totp(alice)

    challenge = login(api(), alice.email).json()["challenge_id"]
    pending = AuthSession.objects.get(mfa_challenge__id=challenge)
    verified = api().post(
        "/api/v1/auth/mfa/verify",
        {"challenge_id": challenge, "code": totp_code(device, step_offset=1)},
        format="json",
    )

    assert pending.authenticated_at is None
    assert verified.status_code == 200, verified.content
    assert AuthSession.objects.get(pk=pending.pk).authenticated_at is not None
    assert bearer(verified.json()["access"]).post("/api/v1/me/mfa/backup-codes").status_code == 200


def _second_factor(user: User, method: str) -> str:
    """A code of the method the user can give now."""
    if method == "totp":
        return totp_code(TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True))
    if method == "email":
        device = EmailDevice.objects.create(user=user, name="e-mail", confirmed=True)
        device.generate_token()
        return device.token
    return backup_codes_generate(user=user)[0]


@pytest.mark.parametrize("method", ["password", "totp", "email", "static"])
def test_a_reauthentication_publishes_user_reauthenticated_with_its_method(alice, settings, method):
    tokens = signed_in(alice)
    secret = PASSWORD if method == "password" else _second_factor(alice, method)
    make_stale(tokens["session_id"], settings)
    since = mark()

    body = {"password": secret} if method == "password" else {"code": secret}
    response = reauthenticate(bearer(tokens["access"]), **body)

    assert response.status_code == 204, response.content
    assert [(e.type, e.data) for e in published_since(since)] == [
        (
            "user.reauthenticated",
            {"user_id": str(alice.id), "session_id": tokens["session_id"], "method": method},
        )
    ]
    authenticated_at = AuthSession.objects.get(pk=tokens["session_id"]).authenticated_at
    assert timezone.now() - authenticated_at < timedelta(seconds=5)
    assert_no_secrets(secret)


@pytest.mark.parametrize(
    "body",
    [{}, {"password": PASSWORD, "code": "123456"}, {"credential": {}}],
    ids=["nothing", "both", "an empty credential"],
)
def test_a_reauthentication_takes_one_proof(alice, body):
    tokens = signed_in(alice)
    since = mark()

    response = reauthenticate(bearer(tokens["access"]), **body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert types_since(since) == []


@pytest.mark.django_db(transaction=True)
def test_wrong_reauthentication_passwords_are_failed_sign_ins_and_lock_the_account(alice, settings):
    # given alice's token in an attacker's hands
    tokens = signed_in(alice)
    stolen = bearer(tokens["access"], ATTACKER)
    threshold = settings.IDENTITY["LOCKOUT_THRESHOLD"]
    authenticated_at = AuthSession.objects.get(pk=tokens["session_id"]).authenticated_at
    since = mark()

    # when the attacker guesses the password THRESHOLD times
    answers = [reauthenticate(stolen, password=f"guess-{n}") for n in range(threshold)]

    # then each is a 401, committed as a failed sign-in through the re-authentication door
    assert [a.status_code for a in answers] == [401] * threshold
    assert {a.json()["error"]["code"] for a in answers} == {"invalid_credentials"}
    failed = [e.data for e in published_since(since) if e.type == "user.login_failed"]
    assert len(failed) == threshold
    assert failed[0] == {
        "user_id": str(alice.id),
        "email_attempted": alice.email,
        "ip_address": ATTACKER,
        "user_agent": "pytest-browser/1.0",
        "reason": "bad_password",
        "door": "reauthentication",
    }
    assert (
        LoginAttempt.objects.filter(user=alice, succeeded=False, reason="bad_password").count() == threshold
    )
    assert "user.locked" in types_since(since)
    # and the account is locked: the right password is not even looked at, here and at login
    assert reauthenticate(stolen, password=PASSWORD).status_code == 423
    assert login(api(ATTACKER), alice.email).status_code == 423
    assert AuthSession.objects.get(pk=tokens["session_id"]).authenticated_at == authenticated_at
    assert_no_secrets(*(f"guess-{n}" for n in range(threshold)))


@pytest.mark.django_db(transaction=True)
def test_wrong_reauthentication_codes_are_step_up_failures_and_lock_the_account(alice, settings):
    settings.IDENTITY = {**settings.IDENTITY, "MFA_LOCK_THRESHOLD": 3}
    tokens = signed_in(alice)
    device = TOTPDevice.objects.create(user=alice, name="authenticator", confirmed=True)
    stolen = bearer(tokens["access"], ATTACKER)
    since = mark()

    answers = [reauthenticate(stolen, code=f"00000{n}") for n in range(3)]

    assert [a.status_code for a in answers] == [401] * 3
    assert {a.json()["error"]["code"] for a in answers} == {"invalid_code"}
    failed = [e.data for e in published_since(since) if e.type == "mfa_code.verification_failed"]
    assert failed == [
        {
            "user_id": str(alice.id),
            "device_id": "any",
            "method": "any",
            "context": "step_up",
            "failure_count": n,
        }
        for n in (1, 2, 3)
    ]
    assert LoginAttempt.objects.filter(user=alice, reason="bad_code").count() == 3
    assert "user.locked" in types_since(since)
    assert reauthenticate(stolen, code=totp_code(device)).status_code == 423
    assert login(api(ATTACKER), alice.email).status_code == 423
    assert "user.reauthenticated" not in types_since(since)


def test_a_lock_in_force_answers_423_before_a_password_or_code_is_checked(alice, settings):
    tokens = signed_in(alice)
    code = backup_codes_generate(user=alice)[0]
    make_stale(tokens["session_id"], settings)
    User.objects.filter(pk=alice.pk).update(
        locked_at=timezone.now(),
        locked_until=timezone.now() + timedelta(hours=1),
        lock_reason="too_many_failures",
    )
    stolen = bearer(tokens["access"], ATTACKER)
    since = mark()

    answers = [reauthenticate(stolen, password=PASSWORD), reauthenticate(stolen, code=code)]

    assert [a.status_code for a in answers] == [423, 423]
    assert {a.json()["error"]["code"] for a in answers} == {"account_locked"}
    assert "user.reauthenticated" not in types_since(since)
    assert StaticToken.objects.filter(token=code).exists()
    assert stolen.post("/api/v1/me/mfa/backup-codes").status_code == 403


def test_reauthentications_are_throttled_per_address(alice, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "reauth", "3/min")
    users = [alice, *(user_register(email=f"u{n}@example.com", password=PASSWORD) for n in range(3))]
    clients = [bearer(signed_in(user)["access"], ATTACKER) for user in users]

    statuses = [reauthenticate(client, password="wrong").status_code for client in clients]

    assert statuses == [401, 401, 401, 429]


@pytest.mark.django_db(transaction=True)
def test_a_wrong_current_password_is_a_failed_reauthentication_committed_before_the_400(alice, settings):
    tokens = signed_in(alice)
    stolen = bearer(tokens["access"], ATTACKER)
    threshold = settings.IDENTITY["LOCKOUT_THRESHOLD"]
    since = mark()

    answers = [
        stolen.post(
            "/api/v1/me/password",
            {"current_password": f"guess-{n}", "new_password": NEW_PASSWORD},
            format="json",
        )
        for n in range(threshold)
    ]

    assert [a.status_code for a in answers] == [400] * threshold
    assert "current_password" in answers[0].json()["error"]["fields"]
    failed = [e.data for e in published_since(since) if e.type == "user.login_failed"]
    assert [(d["reason"], d["door"], d["ip_address"]) for d in failed] == [
        ("bad_password", "reauthentication", ATTACKER)
    ] * threshold
    assert "user.locked" in types_since(since)
    assert "password.changed" not in types_since(since)
    locked = stolen.post(
        "/api/v1/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert locked.status_code == 423
    assert login(api(ATTACKER), alice.email).status_code == 423
    assert User.objects.get(pk=alice.pk).check_password(PASSWORD)


def test_password_changes_are_throttled_per_account_with_retry_after(alice, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "reauth", "3/min")
    tokens = signed_in(alice)
    body = {"current_password": "wrong", "new_password": NEW_PASSWORD}

    answers = [
        bearer(tokens["access"], f"192.0.2.{n}").post("/api/v1/me/password", body, format="json")
        for n in range(4)
    ]

    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert answers[-1].json()["error"]["code"] == "throttled"
    assert int(answers[-1]["Retry-After"]) > 0


def test_a_password_change_is_itself_a_reauthentication(alice, settings):
    tokens = signed_in(alice)
    make_stale(tokens["session_id"], settings)
    client = bearer(tokens["access"])
    since = mark()

    changed = client.post(
        "/api/v1/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert changed.status_code == 204, changed.content
    reauthenticated = [e.data for e in published_since(since) if e.type == "user.reauthenticated"]
    assert reauthenticated == [
        {"user_id": str(alice.id), "session_id": tokens["session_id"], "method": "password"}
    ]
    assert client.post("/api/v1/me/mfa/backup-codes").status_code == 200
    assert_no_secrets(PASSWORD, NEW_PASSWORD)


def test_the_email_is_changed_through_patch_me_and_a_taken_one_is_a_conflict(alice):
    user_register(email="bob@example.com", password=PASSWORD)
    client = bearer(signed_in(alice)["access"])
    since = mark()

    taken = client.patch("/api/v1/me", {"email": "bob@example.com"}, format="json")
    changed = client.patch("/api/v1/me", {"email": "Alice.New@Example.com"}, format="json")

    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "email_taken"
    assert changed.status_code == 200, changed.content
    assert changed.json()["email"] == "alice.new@example.com"
    assert [(e.type, e.data) for e in published_since(since)] == [
        ("user.updated", {"user_id": str(alice.id), "changed_fields": ["email"]})
    ]
    assert login(api(), "alice.new@example.com").status_code == 200
