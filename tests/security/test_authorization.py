"""Authorisation of every endpoint the URL map serves, and no user ever sees another's objects.

The routes come from Django's URL resolver, so a new endpoint cannot slip past: it fails
`test_every_endpoint_is_classified` until it is put in CLASSIFIED, as public, for any signed-in
user (their own things only), or with the permission it needs (API.md, and the roles issue's
matrix). Each class is then checked: anonymous callers get 401, a signed-in user without the
permission 403 (and a PermissionCheckDenied event), a user holding it gets past the check.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLResolver, get_resolver

from identity.models import AuthSession, Device, Permission, User
from identity.services import grants, mfa_devices, passkey_enrolment
from identity.services.accounts import user_register
from notification.models import Notification
from tests.identity.support import PASSWORD, api, bearer, login, mark, published_since

pytestmark = pytest.mark.django_db

PUBLIC = "public"
SIGNED_IN = "signed in"
# Prometheus' scrape: no user at all, a network or a bearer token (tests/test_metrics.py checks it).
SCRAPER = "scraper"
# Not the API: the Django admin has its own staff login, the probes and the schema are open.
OUTSIDE_THE_API = ("admin/",)

CLASSIFIED: dict[str, str] = {
    "api/v1/auth/register": PUBLIC,
    "api/v1/auth/login": PUBLIC,
    "api/v1/auth/token/refresh": PUBLIC,
    "api/v1/auth/password/reset": PUBLIC,
    "api/v1/auth/password/reset/confirm": PUBLIC,
    "api/v1/auth/mfa/select": PUBLIC,
    "api/v1/auth/mfa/verify": PUBLIC,
    "api/v1/auth/passkey/options": PUBLIC,
    "api/v1/auth/passkey/login": PUBLIC,
    "api/schema/": PUBLIC,
    "api/docs/": PUBLIC,
    "healthz": PUBLIC,
    "readyz": PUBLIC,
    "metrics": SCRAPER,
    "api/v1/auth/logout": SIGNED_IN,
    "api/v1/auth/reauthenticate": SIGNED_IN,
    "api/v1/events/catalog": SIGNED_IN,
    "api/v1/me": SIGNED_IN,
    "api/v1/me/password": SIGNED_IN,
    "api/v1/me/sessions": SIGNED_IN,
    "api/v1/me/sessions/<uuid:session_id>": SIGNED_IN,
    "api/v1/me/devices": SIGNED_IN,
    "api/v1/me/devices/<uuid:device_id>": SIGNED_IN,
    "api/v1/me/devices/<uuid:device_id>/trust": SIGNED_IN,
    "api/v1/me/devices/<uuid:device_id>/untrust": SIGNED_IN,
    "api/v1/me/mfa/devices": SIGNED_IN,
    "api/v1/me/mfa/devices/<str:device_id>": SIGNED_IN,
    "api/v1/me/mfa/devices/<str:device_id>/verify": SIGNED_IN,
    "api/v1/me/mfa/backup-codes": SIGNED_IN,
    "api/v1/me/notifications": SIGNED_IN,
    "api/v1/me/notification-preferences": SIGNED_IN,
    "api/v1/me/elevation-requests": SIGNED_IN,
    "api/v1/admin/users": "identity.manage_users",
    "api/v1/admin/users/<uuid:user_id>": "identity.manage_users",
    "api/v1/admin/users/<uuid:user_id>/lock": "identity.manage_users",
    "api/v1/admin/users/<uuid:user_id>/unlock": "identity.manage_users",
    "api/v1/admin/users/<uuid:user_id>/deactivate": "identity.manage_users",
    "api/v1/admin/users/<uuid:user_id>/reactivate": "identity.manage_users",
    "api/v1/admin/users/<uuid:user_id>/password": "identity.manage_users",
    "api/v1/admin/sessions": "identity.manage_users",
    "api/v1/admin/sessions/<uuid:session_id>": "identity.manage_users",
    "api/v1/admin/users/<uuid:user_id>/roles": "identity.manage_roles",
    "api/v1/admin/users/<uuid:user_id>/roles/<uuid:role_id>": "identity.manage_roles",
    "api/v1/admin/roles": "identity.manage_roles",
    "api/v1/admin/roles/<uuid:role_id>": "identity.manage_roles",
    "api/v1/admin/roles/<uuid:role_id>/clone": "identity.manage_roles",
    "api/v1/admin/roles/<uuid:role_id>/permissions": "identity.manage_roles",
    "api/v1/admin/roles/<uuid:role_id>/permissions/<uuid:permission_id>": "identity.manage_roles",
    "api/v1/admin/users/<uuid:user_id>/permissions": "identity.manage_permissions",
    "api/v1/admin/users/<uuid:user_id>/permissions/<uuid:permission_id>": "identity.manage_permissions",
    "api/v1/admin/permissions": "identity.manage_permissions",
    "api/v1/admin/permissions/<uuid:permission_id>": "identity.manage_permissions",
    "api/v1/admin/elevation-requests": "identity.approve_elevation",
    "api/v1/admin/elevation-requests/<uuid:request_id>/approve": "identity.approve_elevation",
    "api/v1/admin/elevation-requests/<uuid:request_id>/deny": "identity.approve_elevation",
    "api/v1/admin/ip-rules": "identity.manage_ip_rules",
    "api/v1/admin/ip-rules/<uuid:rule_id>": "identity.manage_ip_rules",
    "api/v1/audit/events": "audit.view_auditlog",
    "api/v1/audit/verify": "audit.view_auditlog",
    "api/v1/audit/security-incidents": "audit.view_auditlog",
    "api/v1/audit/exports": "audit.export_auditlog",
    "api/v1/audit/exports/<uuid:export_id>": "audit.export_auditlog",
    "api/v1/audit/exports/<uuid:export_id>/download": "audit.export_auditlog",
    "api/v1/integration/webhooks": "integration.manage_webhooks",
    "api/v1/integration/webhooks/<uuid:pk>": "integration.manage_webhooks",
    "api/v1/integration/webhooks/<uuid:pk>/rotate-secret": "integration.manage_webhooks",
    "api/v1/integration/webhooks/<uuid:pk>/replay": "integration.manage_webhooks",
    "api/v1/integration/webhooks/<uuid:pk>/deliveries": "integration.manage_webhooks",
    "api/v1/integration/webhooks/<uuid:pk>/deliveries/<int:delivery_id>/redeliver": (
        "integration.manage_webhooks"
    ),
    "api/v1/ops/pipeline": "ops.view_pipeline",
    "api/v1/ops/dead-letters": "ops.manage_dead_letters",
    "api/v1/ops/dead-letters/<int:pk>/replay": "ops.manage_dead_letters",
    "api/v1/ops/dead-letters/<int:pk>/discard": "ops.manage_dead_letters",
}

METHODS = ("get", "post", "put", "patch", "delete")


def served_routes() -> dict[str, list[str]]:
    """Every route of the URL map (the Django admin apart) with the methods its view answers."""

    def walk(patterns, prefix: str = ""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.callback

    routes = {}
    for route, view in walk(get_resolver().url_patterns):
        if route.startswith(OUTSIDE_THE_API):
            continue
        view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
        routes[route] = [m for m in METHODS if hasattr(view_class, m)] if view_class else ["get"]
    return routes


def concrete(route: str) -> str:
    """A path for the route, its parameters filled with values no object has."""
    filled = re.sub(r"<uuid:\w+>", str(uuid.uuid4()), route)
    filled = re.sub(r"<int:\w+>", "987654", filled)
    return "/" + re.sub(r"<str:\w+>", "totp-987654", filled)


PERMISSION_CALLS = [
    (r, m)
    for r, methods in served_routes().items()
    if CLASSIFIED.get(r) not in (None, PUBLIC, SIGNED_IN, SCRAPER)
    for m in methods
]
SIGNED_IN_CALLS = [
    (r, m) for r, methods in served_routes().items() if CLASSIFIED.get(r) == SIGNED_IN for m in methods
]
PUBLIC_CALLS = [
    (r, m) for r, methods in served_routes().items() if CLASSIFIED.get(r) == PUBLIC for m in methods
]


def call(client, method: str, route: str):
    return getattr(client, method)(concrete(route), {}, format="json")


def signed_in(email: str) -> tuple[User, object]:
    user = user_register(email=email, password=PASSWORD)
    return user, bearer(login(api(), email).json()["access"])


def assert_error_shape(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_every_endpoint_is_classified():
    served = set(served_routes())

    assert served - set(CLASSIFIED) == set(), "classify the new endpoint in CLASSIFIED"
    assert set(CLASSIFIED) - served == set(), "an endpoint in CLASSIFIED is gone: remove it"


@pytest.mark.parametrize(("route", "method"), PERMISSION_CALLS, ids=[f"{m} {r}" for r, m in PERMISSION_CALLS])
def test_a_permission_endpoint_refuses_anonymous_and_users_without_it_and_admits_its_holder(route, method):
    codename = CLASSIFIED[route]
    user, client = signed_in("operator@example.com")
    since = mark()

    anonymous = call(api(), method, route)
    refused = call(client, method, route)

    assert_error_shape(anonymous, 401)
    assert_error_shape(refused, 403)
    assert refused.json()["error"]["code"] == "permission_denied"
    denied = [e.data for e in published_since(since) if e.type == "permission_check.denied"]
    assert [(d["user_id"], d["codename"]) for d in denied] == [(str(user.id), codename)]

    grants.permission_grant(user=user, permission=Permission.objects.get(codename=codename))
    admitted = call(client, method, route)

    assert admitted.status_code not in (401, 403, 500), admitted.content[:300]


@pytest.mark.parametrize(("route", "method"), SIGNED_IN_CALLS, ids=[f"{m} {r}" for r, m in SIGNED_IN_CALLS])
def test_a_signed_in_endpoint_refuses_anonymous_and_needs_no_permission(route, method):
    _, client = signed_in("someone@example.com")

    assert_error_shape(call(api(), method, route), 401)
    assert call(client, method, route).status_code not in (401, 403, 500)


@pytest.mark.parametrize(("route", "method"), PUBLIC_CALLS, ids=[f"{m} {r}" for r, m in PUBLIC_CALLS])
def test_a_public_endpoint_answers_anonymous_callers(route, method):
    assert call(api(), method, route).status_code not in (401, 403, 500)


def test_no_user_sees_or_touches_another_users_sessions_devices_mfa_devices_or_notifications():
    # given bob with a session, a browser, an MFA device and an in-app notification
    bob = user_register(email="bob@example.com", password=PASSWORD)
    bob_login = (
        api()
        .post(
            "/api/v1/auth/login",
            {"email": bob.email, "password": PASSWORD, "device_fingerprint": "bob-laptop"},
            format="json",
        )
        .json()
    )
    bob_device = Device.objects.get(user=bob)
    bob_mfa_id = mfa_devices.mfa_device_create(user=bob, method="totp").device_id
    bob_passkey_id = passkey_enrolment.passkey_enrol_begin(user=bob, name="bob's passkey").device_id
    Notification.objects.create(
        user_id=bob.id, event_id=uuid.uuid4(), event_type="identity.user.locked", category="security",
        title="Bob's notification", body="for bob only",
    )  # fmt: skip
    _, alice = signed_in("alice@example.com")

    # when alice lists her things and aims at bob's by their ids
    lists = {
        path: alice.get(f"/api/v1/me/{path}").json()
        for path in ("sessions", "devices", "mfa/devices", "notifications")
    }
    aimed = [
        alice.delete(f"/api/v1/me/sessions/{bob_login['session_id']}"),
        alice.patch(f"/api/v1/me/devices/{bob_device.id}", {"name": "mine now"}, format="json"),
        alice.post(f"/api/v1/me/devices/{bob_device.id}/trust"),
        alice.post(f"/api/v1/me/devices/{bob_device.id}/untrust"),
        alice.delete(f"/api/v1/me/devices/{bob_device.id}"),
        alice.post(f"/api/v1/me/mfa/devices/{bob_mfa_id}/verify", {"code": "123456"}, format="json"),
        alice.delete(f"/api/v1/me/mfa/devices/{bob_mfa_id}"),
        alice.post(
            f"/api/v1/me/mfa/devices/{bob_passkey_id}/verify", {"credential": {"id": "x"}}, format="json"
        ),
        alice.delete(f"/api/v1/me/mfa/devices/{bob_passkey_id}"),
    ]

    # then none of bob's things is listed, and each is "not found", as if it did not exist
    listed = repr(lists)
    for secret_id in (
        bob_login["session_id"],
        str(bob_device.id),
        bob_mfa_id,
        bob_passkey_id,
        "Bob's notification",
        str(bob.id),
    ):
        assert secret_id not in listed
    for response in aimed:
        assert_error_shape(response, 404)
    # and bob's things are as they were
    assert AuthSession.objects.get(pk=bob_login["session_id"]).status == AuthSession.Status.ACTIVE
    assert Device.objects.get(pk=bob_device.pk).name != "mine now"
    assert bearer(bob_login["access"]).get("/api/v1/me").status_code == 200
    bobs_mfa = bearer(bob_login["access"]).get("/api/v1/me/mfa/devices").json()
    assert [d["device_id"] for d in bobs_mfa] == [bob_mfa_id, bob_passkey_id]
