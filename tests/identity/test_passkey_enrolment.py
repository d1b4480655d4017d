"""Enrolling a passkey: creation options in the WebAuthn L3 JSON form, a registration that
confirms it, and every registration that does not verify refused with nothing confirmed."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from identity.models import WebAuthnDevice
from identity.models.passkeys import credential_hash
from identity.services.accounts import user_register
from tests.identity.passkey_support import RP_ID, begin, confirm, enrol_passkey
from tests.identity.support import PASSWORD, api, bearer, login, mark, published_since, types_since
from tests.support.processes import wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("relying_party")]


def test_enrolment_answers_creation_options_and_a_registration_confirms_the_passkey(alice, authenticator):
    client = bearer(login(api(), alice.email).json()["access"])
    since = mark()

    started = begin(client)
    body = started.json()
    confirmed = confirm(client, body["device_id"], authenticator.create(body["options"]))
    listed = client.get("/api/v1/me/mfa/devices").json()

    assert started.status_code == 201
    options = body["options"]
    assert options["rp"] == {"id": RP_ID, "name": "Identity platform"}
    assert options["user"]["name"] == alice.email
    assert authenticator.credentials[0].user_handle == alice.id.bytes
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
    assert options["excludeCredentials"] == []
    assert confirmed.status_code == 204, confirmed.content
    device = WebAuthnDevice.objects.get(user=alice)
    assert (device.confirmed, device.name, device.discoverable) == (True, "laptop", True)
    assert bytes(device.credential_id) == authenticator.credentials[0].credential_id
    assert listed == [
        {"device_id": body["device_id"], "method": "webauthn", "name": "laptop", "confirmed": True}
    ]
    events = [(e.type, e.data) for e in published_since(since)]
    expected = {"user_id": str(alice.id), "device_id": f"webauthn-{device.pk}", "method": "webauthn"}
    assert events == [("mfa_device.created", expected), ("mfa_device.verified", expected)]


def _registration_refusals():
    """(name, how the registration is made wrong, status, error code). A response to options we
    never gave spends no options of ours; any other refusal spends them."""

    def other_origin(a, options):
        return a.create(options, origin="https://phish.example.test")

    def other_rp(a, options):
        return a.create({**options, "rp": {**options["rp"], "id": "phish.example.test"}})

    def other_challenge(a, options):
        return a.create({**options, "challenge": "bm90LXRoZS1jaGFsbGVuZ2U"})

    def no_attestation(a, options):
        made = a.create(options)
        return {**made, "response": {**made["response"], "attestationObject": "bm90LWNib3I"}}

    return [
        ("another origin", other_origin, 400, "invalid_credential"),
        ("another relying party", other_rp, 400, "invalid_credential"),
        ("another challenge", other_challenge, 410, "challenge_gone"),
        ("a garbled attestation", no_attestation, 400, "invalid_credential"),
        ("no user presence", lambda a, options: a.create(options, up=False), 400, "invalid_credential"),
    ]


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [case[1:] for case in _registration_refusals()],
    ids=[case[0] for case in _registration_refusals()],
)
def test_a_registration_that_does_not_verify_is_refused_and_confirms_nothing(
    alice, authenticator, make, status, code
):
    client = bearer(login(api(), alice.email).json()["access"])
    body = begin(client).json()
    since = mark()

    refused = confirm(client, body["device_id"], make(authenticator, body["options"]))
    confirmed = WebAuthnDevice.objects.filter(user=alice, confirmed=True).exists()
    refusals = types_since(since)
    again = confirm(client, body["device_id"], authenticator.create(body["options"]))

    assert refused.status_code == status, refused.content
    assert refused.json()["error"]["code"] == code
    assert not confirmed
    assert refusals == ([] if status == 410 else ["mfa_code.verification_failed"])
    assert again.status_code == (204 if status == 410 else 410), "refused options are spent"


def test_a_passkey_registered_already_is_a_conflict(alice, authenticator, bob):
    enrol_passkey(alice, authenticator)
    client = bearer(login(api(), bob.email).json()["access"])
    body = begin(client).json()

    answer = confirm(
        client, body["device_id"], authenticator.create(body["options"], reuse=authenticator.credentials[0])
    )

    assert answer.status_code == 409, answer.content
    assert answer.json()["error"]["code"] == "passkey_registered"
    assert not WebAuthnDevice.objects.filter(user=bob, confirmed=True).exists()


@pytest.fixture
def bob(db):
    return user_register(email="bob@example.com", password=PASSWORD)


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_the_same_passkey_registered_by_two_enrolments_at_once_is_a_conflict(alice, authenticator, bob):
    # given alice's enrolment of a passkey saving, not yet committed (another worker's transaction)
    authenticator.create(begin(bearer(login(api(), alice.email).json()["access"])).json()["options"])
    alices = WebAuthnDevice.objects.get(user=alice)
    saving, release = threading.Event(), threading.Event()

    def alice_saves() -> None:
        try:
            with transaction.atomic():
                WebAuthnDevice.objects.filter(pk=alices.pk).update(
                    credential_id_hash=credential_hash(authenticator.credentials[0].credential_id),
                    confirmed=True,
                )
                saving.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=alice_saves)
    holder.start()
    assert saving.wait(10)

    # when bob's enrolment completes with the same credential meanwhile
    client = bearer(login(api(), bob.email).json()["access"])
    body = begin(client).json()
    answers: list = []

    def bob_confirms() -> None:
        try:
            answers.append(
                confirm(
                    client,
                    body["device_id"],
                    authenticator.create(body["options"], reuse=authenticator.credentials[0]),
                )
            )
        finally:
            connection.close()

    confirming = threading.Thread(target=bob_confirms)
    confirming.start()
    wait_for(_waiting_on_a_lock, timeout=10, what="bob's save to wait on alice's")
    release.set()
    holder.join(10)
    confirming.join(10)

    # then bob is told the passkey is registered already, and nothing of his is confirmed
    assert answers[0].status_code == 409, answers[0].content
    assert answers[0].json()["error"]["code"] == "passkey_registered"
    assert not WebAuthnDevice.objects.filter(user=bob, confirmed=True).exists()
