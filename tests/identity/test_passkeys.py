"""Passkeys as a second factor: the challenge of a password sign-in (request options, an
assertion), and removal; every bad assertion refused in the error shape with nothing opened. A
software authenticator signs with real keys (tests/support/soft_authenticator.py)."""

from __future__ import annotations

import pytest

from identity.models import AuthSession, MFAChallenge, WebAuthnDevice
from tests.identity.passkey_support import ORIGIN, RP_ID, b64, enrol_passkey, select, verify
from tests.identity.support import (
    api,
    assert_no_secrets,
    bearer,
    login,
    mark,
    published_since,
)
from tests.support.soft_authenticator import SoftAuthenticator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("relying_party")]


def test_a_passkey_is_the_second_factor_of_a_password_sign_in(alice, authenticator):
    device = enrol_passkey(alice, authenticator)
    key = f"webauthn-{device.pk}"
    since = mark()

    started = login(api(), alice.email).json()
    selected = select(started["challenge_id"], key).json()
    credential = authenticator.get(selected["options"])
    verified = verify(started["challenge_id"], credential)

    assert started["methods"] == [{"device_id": key, "method": "webauthn"}]
    options = selected["options"]
    assert selected["method"] == "webauthn"
    assert (options["rpId"], options["userVerification"]) == (RP_ID, "preferred")
    assert [c["id"] for c in options["allowCredentials"]] == [credential["id"]]
    assert verified.status_code == 200, verified.content
    assert bearer(verified.json()["access"]).get("/api/v1/me").status_code == 200
    events = published_since(since)
    assert [e.type for e in events] == [
        "session.created", "mfa_challenge.initiated", "mfa_device.selected", "mfa_challenge.issued",
        "mfa_device.selected", "mfa_challenge.issued", "mfa_challenge.completed", "token.issued",
        "token.issued", "user.logged_in",
    ]  # fmt: skip
    assert events[6].data["method"] == events[6 - 2].data["method"] == "webauthn"
    assert events[-1].data["mfa_used"] is True
    assert events[-1].data["method"] == "password"
    assert len({e.envelope["correlation_id"] for e in events}) == 1
    device.refresh_from_db()
    assert device.sign_count == 1
    assert device.last_used_at is not None
    assert_no_secrets(credential["response"]["signature"], credential["response"]["clientDataJSON"])


def _assertion_refusals(other: SoftAuthenticator):
    return {
        "another origin": lambda a, o: a.get(o, origin="https://phish.example.test"),
        "another relying party": lambda a, o: a.get(o, rp_id="phish.example.test"),
        "no user presence": lambda a, o: a.get(o, up=False),
        "a bad signature": lambda a, o: _tampered(a.get(o)),
        "an unknown credential": lambda a, o: other.get({**o, "allowCredentials": []}),
    }


def _tampered(credential: dict) -> dict:
    signature = bytearray(credential["response"]["signature"].encode())
    signature[20] = ord("A") if signature[20] != ord("A") else ord("B")
    return {**credential, "response": {**credential["response"], "signature": signature.decode()}}


@pytest.mark.parametrize("case", list(_assertion_refusals(SoftAuthenticator(origin=ORIGIN))), ids=str)
def test_a_refused_assertion_is_a_wrong_second_factor_and_opens_nothing(alice, authenticator, case):
    device = enrol_passkey(alice, authenticator)
    other = SoftAuthenticator(origin=ORIGIN)
    started = login(api(), alice.email).json()
    options = select(started["challenge_id"], f"webauthn-{device.pk}").json()["options"]
    if case == "an unknown credential":
        other.create({"rp": {"id": RP_ID}, "user": {"id": b64(alice.id.bytes)}, "challenge": "eA"})
    since = mark()

    refused = verify(started["challenge_id"], _assertion_refusals(other)[case](authenticator, options))

    assert refused.status_code == 400, refused.content
    assert refused.json()["error"]["code"] == "invalid_code"
    assert refused.json()["error"]["fields"]["attempts_left"] == ["4"]
    challenge = MFAChallenge.objects.get(pk=started["challenge_id"])
    assert challenge.session.status == AuthSession.Status.PENDING_MFA
    assert WebAuthnDevice.objects.get(pk=device.pk).sign_count == 0
    failed = {e.type: e.data for e in published_since(since)}
    assert set(failed) == {"mfa_code.verification_failed", "mfa_challenge.failed"}
    assert failed["mfa_code.verification_failed"]["method"] == "webauthn"


def test_a_replayed_assertion_opens_no_second_sign_in(alice, authenticator):
    device = enrol_passkey(alice, authenticator)
    first = login(api(), alice.email).json()["challenge_id"]
    credential = authenticator.get(select(first, f"webauthn-{device.pk}").json()["options"])
    assert verify(first, credential).status_code == 200
    second = login(api(), alice.email).json()["challenge_id"]
    select(second, f"webauthn-{device.pk}")

    replayed_elsewhere = verify(second, credential)
    replayed_there = verify(first, credential)

    assert replayed_elsewhere.status_code == 400
    assert replayed_there.status_code == 410
    assert MFAChallenge.objects.get(pk=second).session.status == AuthSession.Status.PENDING_MFA


@pytest.mark.parametrize(
    "body",
    [
        {"code": "123456", "credential": {"id": "x"}},
        {"credential": {}},
        {"credential": "not an object"},
        {"credential": {"id": "x", "rawId": "%%%", "response": {"clientDataJSON": "%%%"}}},
    ],
    ids=["a code and a credential", "an empty credential", "not an object", "garbage"],
)
def test_a_malformed_credential_is_a_4xx_in_the_error_shape(alice, authenticator, body):
    device = enrol_passkey(alice, authenticator)
    started = login(api(), alice.email).json()
    select(started["challenge_id"], f"webauthn-{device.pk}")

    answer = api().post(
        "/api/v1/auth/mfa/verify", {"challenge_id": started["challenge_id"], **body}, format="json"
    )

    assert 400 <= answer.status_code < 500, answer.content
    assert set(answer.json()["error"]) == {"code", "message", "fields"}
    assert MFAChallenge.objects.get(pk=started["challenge_id"]).status == "pending"


def test_removing_a_passkey_needs_a_recent_sign_in_and_publishes_its_disabling(
    alice, authenticator, settings
):
    device = enrol_passkey(alice, authenticator)
    key = f"webauthn-{device.pk}"
    started = login(api(), alice.email).json()
    credential = authenticator.get(select(started["challenge_id"], key).json()["options"])
    tokens = verify(started["challenge_id"], credential).json()
    stale = AuthSession.objects.filter(pk=tokens["session_id"])
    authenticated_at = stale.get().authenticated_at
    stale.update(authenticated_at=authenticated_at.replace(year=authenticated_at.year - 1))
    since = mark()

    refused = bearer(tokens["access"]).delete(f"/api/v1/me/mfa/devices/{key}")
    stale.update(authenticated_at=authenticated_at)
    removed = bearer(tokens["access"]).delete(f"/api/v1/me/mfa/devices/{key}")

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "reauthentication_required"
    assert removed.status_code == 204
    assert not WebAuthnDevice.objects.filter(pk=device.pk).exists()
    assert [(e.type, e.data["method"], e.data["reason"]) for e in published_since(since)] == [
        ("mfa_device.disabled", "webauthn", "user")
    ]
    assert "access" in login(api(), alice.email).json()
