"""The Django admin site signs in through the same service as the API: IP rules, the lock,
throttles, failures counted, the second factor, events; its session opens the API only once a
second factor verified it, and lives only as long as its AuthSession."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEntry
from identity.models import AuthSession, IPRule, User
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.identity.support import PASSWORD, api, bearer, login, mark, published_since
from tests.support.admin_site import admin_sign_in, authenticator, next_code

pytestmark = pytest.mark.django_db(transaction=True)

INDEX, LOGIN = "/admin/", "/admin/login/"


@pytest.fixture
def root():
    return User.objects.create_superuser("root@example.com", PASSWORD)


def password_step(client: Client, email: str, password: str = PASSWORD):
    return client.post(LOGIN, {"username": email, "password": password})


def test_the_password_alone_opens_neither_the_admin_nor_the_api(root):
    authenticator(root)
    client = Client()

    step = password_step(client, root.email)

    assert step.status_code == 302
    assert step["Location"].startswith("/admin/login/verify/")
    assert client.get(INDEX).status_code == 302
    assert client.get("/api/v1/admin/users").status_code == 401
    assert client.get("/api/v1/me").status_code == 401


def test_a_totp_code_opens_the_admin_and_the_api_and_the_sign_in_is_published(root):
    device = authenticator(root)
    client = Client()
    since = mark()

    password_step(client, root.email)
    verified = client.post("/admin/login/verify/", {"code": next_code(device)})

    assert verified.status_code == 302
    assert verified["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    assert client.get("/api/v1/me").json()["email"] == root.email
    events = {e.type: e.data for e in published_since(since)}
    assert events["session.created"]["requires_mfa"] is True
    assert "token.issued" not in events  # the admin site's session lives in a Django session
    assert events["user.logged_in"]["door"] == "admin_site"
    assert events["user.logged_in"]["mfa_used"] is True
    assert events["mfa_challenge.completed"]["method"] == "totp"


def test_a_wrong_code_is_refused_and_counted(root):
    authenticator(root)
    client = Client()
    password_step(client, root.email)
    since = mark()

    wrong = client.post("/admin/login/verify/", {"code": "000000"})

    assert wrong.status_code == 400
    assert b"The code is wrong" in wrong.content
    assert client.get(INDEX).status_code == 302
    assert [e.type for e in published_since(since)][:1] == ["mfa_code.verification_failed"]


def test_a_django_session_without_its_authsession_opens_nothing(root):
    """A session made any other way than through the door (here Django's own login) is signed
    out: on main it opened the admin index and the API with a password alone."""
    client = Client()
    client.force_login(root)

    assert client.get(INDEX).status_code == 302
    assert client.get("/api/v1/admin/users").status_code == 401


def test_wrong_passwords_at_the_admin_lock_the_account_for_the_api_too(root, settings):
    attempts = [
        password_step(Client(), root.email, "wrong-password").status_code
        for _ in range(settings.IDENTITY["LOCKOUT_THRESHOLD"])
    ]

    assert attempts == [401] * settings.IDENTITY["LOCKOUT_THRESHOLD"]
    assert login(api(ip="127.0.0.1"), root.email).status_code == 423
    refused = password_step(Client(), root.email)
    assert refused.status_code == 423
    assert b"locked" in refused.content


def test_a_locked_or_deactivated_user_cannot_sign_in_there(root):
    operator = bearer(login(api(), root.email).json()["access"])
    locked = UserFactory(email="locked@example.com", staff=True)
    gone = UserFactory(email="gone@example.com", staff=True)
    assert operator.post(f"/api/v1/admin/users/{locked.id}/lock", {}, format="json").status_code == 200
    assert operator.post(f"/api/v1/admin/users/{gone.id}/deactivate", {}, format="json").status_code == 200
    since = mark()

    assert password_step(Client(), locked.email).status_code == 423
    assert password_step(Client(), gone.email).status_code == 401

    failures = [e.data for e in published_since(since) if e.type == "user.login_failed"]
    assert [(f["reason"], f["door"]) for f in failures] == [
        ("locked", "admin_site"),
        ("inactive", "admin_site"),
    ]


def test_an_address_rule_refuses_the_admin_site_too(root):
    IPRule.objects.create(cidr="127.0.0.0/8", list=IPRule.List.BLOCK, scope=IPRule.Scope.GLOBAL)

    assert password_step(Client(), root.email).status_code == 403


def test_the_admin_login_is_throttled_per_account():
    refused = [password_step(Client(), "nobody@example.com", "guess").status_code for _ in range(21)]

    assert refused[-1] == 429
    assert 423 in refused or 401 in refused


def test_a_lock_signs_the_admin_out_at_once(root):
    staff = UserFactory(email="staff@example.com", superuser=True)
    client = admin_sign_in(Client(), staff, PASSWORD)
    assert client.get(INDEX).status_code == 200
    operator = bearer(login(api(), root.email).json()["access"])

    operator.post(f"/api/v1/admin/users/{staff.id}/lock", {}, format="json")

    assert client.get(INDEX).status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_signing_out_ends_the_authsession(root):
    client = admin_sign_in(Client(), root, PASSWORD)
    bound = AuthSession.objects.get(user=root, status=AuthSession.Status.ACTIVE)

    client.post("/admin/logout/")

    bound.refresh_from_db()
    assert (bound.status, bound.end_reason) == (AuthSession.Status.ENDED, "logout")


def test_staff_without_a_second_factor_enrol_one_before_the_admin_opens():
    staff = UserFactory(email="new-staff@example.com", superuser=True)
    client = Client()
    since = mark()

    step = password_step(client, staff.email)
    assert step["Location"].startswith("/admin/login/enrol/")
    page = client.get(step["Location"])
    assert client.get(INDEX).status_code == 302
    uri = page.content.decode().split('id="otpauth-uri" href="', 1)[1].split('"', 1)[0]
    secret = parse_qs(urlparse(uri.replace("&amp;", "&")).query)["secret"][0]
    device = TOTPDevice.objects.get(user=staff)
    assert device.bin_key == base64.b32decode(secret + "=" * (-len(secret) % 8))
    confirmed = client.post(step["Location"], {"code": next_code(device)})

    assert confirmed.status_code == 302
    assert confirmed["Location"] == INDEX
    assert client.get(INDEX).status_code == 200
    types = [e.type for e in published_since(since)]
    assert types.index("mfa_device.verified") < types.index("user.logged_in")


def test_admin_sign_ins_and_failures_reach_the_audit_trail_with_their_door(root, worker):
    device = authenticator(root)
    password_step(Client(), root.email, "wrong-password")
    client = Client()
    password_step(client, root.email)
    client.post("/admin/login/verify/", {"code": next_code(device)})

    def audited() -> dict:
        rows = AuditEntry.objects.filter(
            type__in=["identity.user.logged_in", "identity.user.login_failed"], user_id=str(root.id)
        )
        return {row.type: row.data for row in rows}

    found = wait_for(lambda: len(audited()) == 2 and audited(), timeout=60, what="both sign-ins audited")
    assert found["identity.user.logged_in"]["door"] == "admin_site"
    assert found["identity.user.login_failed"]["door"] == "admin_site"
