"""The second factor: TOTP enrolment and challenges, backup codes, e-mail codes and their compensation,
remembered devices."""

from __future__ import annotations

import logging
import time
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity.consumer import identity as identity_consumer
from identity.models import AuthSession, MFAChallenge, User
from identity_project.eventbus.models import DeadLetter
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
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db


def totp_code(device: TOTPDevice, *, step_offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + step_offset * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol_totp(user: User) -> TOTPDevice:
    client = bearer(login(api(), user.email).json()["access"])
    created = client.post("/api/v1/me/mfa/devices", {"method": "totp"}, format="json")
    assert created.status_code == 201
    body = created.json()
    secret = parse_qs(urlparse(body["otpauth_uri"]).query)["secret"][0]
    device = TOTPDevice.objects.get(user=user)
    wrong = client.post(
        f"/api/v1/me/mfa/devices/{body['device_id']}/verify", {"code": "000000"}, format="json"
    )
    assert wrong.status_code == 400
    confirmed = client.post(f"/api/v1/me/mfa/devices/{body['device_id']}/verify", {"code": totp_code(device)})
    assert confirmed.status_code == 200, confirmed.content
    assert_no_secrets(secret)
    return TOTPDevice.objects.get(pk=device.pk)


def test_totp_enrolment_publishes_created_a_failed_code_and_verified(alice):
    since = mark()

    device = enrol_totp(alice)

    types = [t for t in types_since(since) if t.startswith("mfa")]
    assert types == ["mfa_device.created", "mfa_code.verification_failed", "mfa_device.verified"]
    assert published_since(since)[-1].data == {
        "user_id": str(alice.id),
        "device_id": f"totp-{device.pk}",
        "method": "totp",
    }
    assert bearer(login(api(), alice.email).json().get("access", "x")).get("/api/v1/me").status_code == 401


def test_a_login_with_totp_runs_the_whole_challenge_under_one_correlation_id(alice, caplog):
    caplog.set_level(logging.DEBUG)
    device = enrol_totp(alice)
    since = mark()

    started = login(api(), alice.email)
    body = started.json()
    verified = api().post(
        "/api/v1/auth/mfa/verify",
        {"challenge_id": body["challenge_id"], "code": totp_code(device, step_offset=1)},
        format="json",
    )

    assert started.status_code == 200
    assert body["mfa_required"] is True
    assert body["methods"] == [{"device_id": f"totp-{device.pk}", "method": "totp"}]
    assert verified.status_code == 200, verified.content
    assert bearer(verified.json()["access"]).get("/api/v1/me").json()["mfa_enabled"] is True
    events = published_since(since)
    assert [e.type for e in events] == [
        "session.created", "mfa_challenge.initiated", "mfa_device.selected", "mfa_challenge.issued",
        "mfa_challenge.completed", "token.issued", "token.issued", "user.logged_in",
    ]  # fmt: skip
    assert len({e.envelope["correlation_id"] for e in events}) == 1
    assert events[0].data["requires_mfa"] is True
    assert events[-1].data["mfa_used"] is True
    code, secret = totp_code(device, step_offset=1), device.key
    assert_no_secrets(code, secret)
    assert code not in caplog.text
    assert secret not in caplog.text


def test_a_replayed_totp_code_is_refused(alice):
    device = enrol_totp(alice)
    code = totp_code(device, step_offset=1)
    first = login(api(), alice.email).json()["challenge_id"]
    second = login(api(), alice.email).json()["challenge_id"]

    accepted = api().post("/api/v1/auth/mfa/verify", {"challenge_id": first, "code": code}, format="json")
    replayed = api().post("/api/v1/auth/mfa/verify", {"challenge_id": second, "code": code}, format="json")

    assert accepted.status_code == 200
    assert replayed.status_code == 400
    assert replayed.json()["error"]["code"] == "invalid_code"
    assert replayed.json()["error"]["fields"]["attempts_left"] == ["4"]


def test_a_backup_code_works_once_and_is_never_published(alice):
    enrol_totp(alice)
    client = bearer(login(api(), alice.email).json()["access"]) if False else None
    codes = _backup_codes(alice)
    first = login(api(), alice.email).json()["challenge_id"]
    second = login(api(), alice.email).json()["challenge_id"]

    used = api().post("/api/v1/auth/mfa/verify", {"challenge_id": first, "code": codes[0]}, format="json")
    reused = api().post("/api/v1/auth/mfa/verify", {"challenge_id": second, "code": codes[0]}, format="json")

    assert client is None
    assert used.status_code == 200
    assert reused.status_code == 400
    assert_no_secrets(*codes)


def _backup_codes(user: User) -> list[str]:
    from identity.services.mfa_devices import backup_codes_generate

    return backup_codes_generate(user=user)


def wrong_code(challenge_id) -> int:
    return (
        api()
        .post("/api/v1/auth/mfa/verify", {"challenge_id": challenge_id, "code": "000000"}, format="json")
        .status_code
    )


def test_the_last_wrong_code_of_a_challenge_ends_its_pending_session(alice, settings):
    enrol_totp(alice)
    attempts = settings.IDENTITY["MFA_MAX_ATTEMPTS"]
    since = mark()

    challenge = login(api(), alice.email).json()["challenge_id"]
    answers = [wrong_code(challenge) for _ in range(attempts)]

    assert answers == [400] * (attempts - 1) + [410]
    assert AuthSession.objects.get(mfa_challenge__id=challenge).end_reason == "mfa_failed"
    assert types_since(since).count("mfa_challenge.failed") == attempts


def test_wrong_codes_lock_the_account_across_abandoned_challenges(alice, settings):
    """Four wrong codes, a fresh sign-in, and again: every wrong code counts toward the lock, not
    only those of a challenge that spent its attempts (on main this never locked)."""
    device = enrol_totp(alice)
    threshold = settings.IDENTITY["MFA_LOCK_THRESHOLD"]
    per_challenge = settings.IDENTITY["MFA_MAX_ATTEMPTS"] - 1
    since = mark()

    answers = []
    while len(answers) < threshold:
        challenge = login(api(), alice.email).json()["challenge_id"]
        answers += [wrong_code(challenge) for _ in range(min(per_challenge, threshold - len(answers)))]

    assert answers == [400] * (threshold - 1) + [423]
    assert login(api(), alice.email).status_code == 423
    types = types_since(since)
    assert "user.locked" in types
    assert types.count("security_alert.raised") == 1
    alice.refresh_from_db()
    assert alice.lock_reason == "too_many_failures"
    # a pending challenge opened before the lock does not take even a good code now
    assert (
        api()
        .post(
            "/api/v1/auth/mfa/verify",
            {"challenge_id": challenge, "code": totp_code(device, step_offset=1)},
            format="json",
        )
        .status_code
        == 410
    )


def test_remember_this_device_skips_the_second_factor_there(alice):
    device = enrol_totp(alice)
    phone = {"email": alice.email, "password": PASSWORD, "device_fingerprint": "raw-fingerprint-of-the-phone"}
    since = mark()

    challenge = api().post("/api/v1/auth/login", phone, format="json").json()["challenge_id"]
    verified = api().post(
        "/api/v1/auth/mfa/verify",
        {"challenge_id": challenge, "code": totp_code(device, step_offset=1), "remember_device": True},
        format="json",
    )
    again = api().post("/api/v1/auth/login", phone, format="json")
    elsewhere = api().post(
        "/api/v1/auth/login", {**phone, "device_fingerprint": "another-browser"}, format="json"
    )

    assert verified.status_code == 200
    assert "access" in again.json()
    assert elsewhere.json()["mfa_required"] is True
    types = types_since(since)
    assert types.count("device.registered") == 2
    assert "device.trusted" in types
    assert_no_secrets("raw-fingerprint-of-the-phone", "another-browser")


def test_an_email_code_is_sent_by_identitys_consumer_and_an_undeliverable_one_ends_the_challenge(
    alice, settings, django_capture_on_commit_callbacks
):
    device = EmailDevice.objects.create(user=alice, name="e-mail", confirmed=True)
    since = mark()
    challenge_id = login(api(), alice.email).json()["challenge_id"]
    issued = next(e.envelope for e in published_since(since) if e.type == "mfa_challenge.issued")

    # delivered: the consumer makes the code, the mail goes after commit, the code opens the session
    with django_capture_on_commit_callbacks(execute=True):
        assert identity_consumer.process([issued], attempt=0) == []
    [message] = mail.outbox
    code = message.body.strip().split()[-1]
    assert (
        api()
        .post("/api/v1/auth/mfa/verify", {"challenge_id": challenge_id, "code": code}, format="json")
        .status_code
        == 200
    )
    assert_no_secrets(code)

    # undeliverable: once its attempts are spent, the challenge fails and the session ends
    challenge_id = login(api(), alice.email).json()["challenge_id"]
    issued = next(
        e.envelope
        for e in published_since(since)
        if e.type == "mfa_challenge.issued" and e.data["challenge_id"] == challenge_id
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    settings.IDENTITY = {**settings.IDENTITY, "MAIL_MAX_ATTEMPTS": 1}
    since = mark()

    with django_capture_on_commit_callbacks(execute=True):
        assert identity_consumer.process([issued], attempt=0) == []

    challenge = MFAChallenge.objects.get(pk=challenge_id)
    assert (challenge.status, challenge.failure_reason) == ("failed", "delivery_failed")
    assert challenge.session.end_reason == "mfa_failed"
    assert types_since(since) == ["mfa_challenge.failed", "token_family.revoked", "session.invalidated"]
    assert DeadLetter.objects.get(consumer="identity.mail").event_id == uuid.UUID(issued["event_id"])
    assert device.pk


def test_an_admin_resets_the_second_factor_in_the_django_admin(client, alice, admin_user):
    enrol_totp(alice)
    _backup_codes(alice)
    admin_sign_in(client, admin_user, PASSWORD)
    since = mark()

    client.post("/admin/identity/user/", {"action": "reset_mfa", "_selected_action": [alice.pk]})

    disabled = [e.data for e in published_since(since) if e.type == "mfa_device.disabled"]
    assert sorted((d["method"], d["reason"]) for d in disabled) == [("static", "admin"), ("totp", "admin")]
    assert "access" in login(api(), alice.email).json()
