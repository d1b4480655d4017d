"""The admin site takes a passkey as the staff second factor: enrolled at the door's enrol step,
then answering the verify step; a refused one opens nothing. The events of these flows reach
the audit trail, through a real worker, with their data."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from audit.models import AuditEntry
from identity.models import User, WebAuthnDevice
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.identity.support import PASSWORD, mark, published_since

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("relying_party")]

INDEX, LOGIN = "/admin/", "/admin/login/"


@pytest.fixture
def staff():
    return UserFactory(email="staff@example.com", staff=True)


def password_step(client: Client, email: str):
    step = client.post(LOGIN, {"username": email, "password": PASSWORD})
    assert step.status_code == 302, step.content[:300]
    return step["Location"]


def enrol_at_the_door(client: Client, staff: User, authenticator) -> str:
    """The staff member's first second factor, a passkey, made at the enrol step; signs in."""
    step = password_step(client, staff.email)
    page = client.get(step)
    assert page.context["passkey_mode"] == "create"
    credential = authenticator.create(page.context["passkey_options"])
    enrolled = client.post(step, {"credential": json.dumps(credential)})
    assert enrolled.status_code == 302, enrolled.content[:500]
    return enrolled["Location"]


def test_staff_enrol_a_passkey_at_the_door_and_sign_in_with_it(staff, authenticator):
    since = mark()

    landed = enrol_at_the_door(Client(), staff, authenticator)
    client = Client()
    verify_step = password_step(client, staff.email)
    page = client.get(verify_step)
    verified = client.post(
        verify_step, {"credential": json.dumps(authenticator.get(page.context["passkey_options"]))}
    )

    assert landed == INDEX
    assert page.context["method"] == "webauthn"
    assert verified.status_code == 302
    assert verified["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    passkey = WebAuthnDevice.objects.get(user=staff, confirmed=True)
    assert client.session["otp_device_id"] == passkey.persistent_id
    events = [(e.type, e.data) for e in published_since(since)]
    completed = [d for t, d in events if t == "mfa_challenge.completed"]
    assert completed == [
        {
            "challenge_id": completed[0]["challenge_id"],
            "user_id": str(staff.id),
            "session_id": completed[0]["session_id"],
            "method": "webauthn",
            "device_id": f"webauthn-{passkey.pk}",
        }
    ]
    logged_in = [d for t, d in events if t == "user.logged_in"]
    assert [(d["door"], d["mfa_used"], d["method"]) for d in logged_in] == [
        ("admin_site", True, "password")
    ] * 2


def test_a_refused_passkey_at_the_admin_opens_nothing_and_offers_the_code_field(staff, authenticator):
    enrol_at_the_door(Client(), staff, authenticator)
    client = Client()
    verify_step = password_step(client, staff.email)
    page = client.get(verify_step)
    phished = authenticator.get(page.context["passkey_options"], origin="https://phish.example.test")

    refused = client.post(verify_step, {"credential": json.dumps(phished)})
    unreadable = client.post(verify_step, {"credential": "not json"})

    assert refused.status_code == 400
    assert refused.context["passkey_error"] == "The code is wrong."
    assert b'id="id_code"' in refused.content
    assert unreadable.status_code == 400
    assert unreadable.context["passkey_error"] == "The passkey's answer could not be read."
    assert client.get(INDEX).status_code == 302


def test_the_passkey_flows_reach_the_audit_trail_with_their_data(staff, authenticator, worker):
    enrol_at_the_door(Client(), staff, authenticator)
    client = Client()
    verify_step = password_step(client, staff.email)
    page = client.get(verify_step)
    client.post(verify_step, {"credential": json.dumps(authenticator.get(page.context["passkey_options"]))})
    wanted = {
        "identity.mfa_device.created",
        "identity.mfa_device.verified",
        "identity.mfa_challenge.completed",
        "identity.user.logged_in",
    }

    def audited() -> dict:
        rows = AuditEntry.objects.filter(type__in=wanted, user_id=str(staff.id))
        return {(row.type, row.data.get("method")): row.data for row in rows}

    found = wait_for(
        lambda: {t for t, _ in audited()} == wanted and audited(),
        timeout=60,
        what="the passkey flows audited",
    )
    assert ("identity.mfa_device.created", "webauthn") in found
    assert ("identity.mfa_device.verified", "webauthn") in found
    assert ("identity.mfa_challenge.completed", "webauthn") in found
    assert found[("identity.user.logged_in", "password")]["door"] == "admin_site"
