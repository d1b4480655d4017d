"""Authorisation: the matrix of admin endpoints, inheritance, expiry, deactivation, and its cost."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from identity.backends import permissions_of
from identity.models import Permission, Role, User
from identity.services import grants, roles
from identity.services.accounts import user_register
from tests.identity.support import PASSWORD, api, bearer, login, mark, published_since

pytestmark = pytest.mark.django_db

# (method, path, permission): every admin endpoint of API.md built so far. {user}, {role},
# {permission}, {session} and {request} are filled with real objects.
MATRIX = [
    ("get", "admin/users", "identity.manage_users"),
    ("post", "admin/users", "identity.manage_users"),
    ("get", "admin/users/{user}", "identity.manage_users"),
    ("patch", "admin/users/{user}", "identity.manage_users"),
    ("post", "admin/users/{user}/lock", "identity.manage_users"),
    ("post", "admin/users/{user}/unlock", "identity.manage_users"),
    ("post", "admin/users/{user}/deactivate", "identity.manage_users"),
    ("post", "admin/users/{user}/reactivate", "identity.manage_users"),
    ("get", "admin/sessions", "identity.manage_users"),
    ("delete", "admin/sessions/{session}", "identity.manage_users"),
    ("get", "admin/users/{user}/roles", "identity.manage_roles"),
    ("post", "admin/users/{user}/roles", "identity.manage_roles"),
    ("delete", "admin/users/{user}/roles/{role}", "identity.manage_roles"),
    ("get", "admin/users/{user}/permissions", "identity.manage_permissions"),
    ("post", "admin/users/{user}/permissions", "identity.manage_permissions"),
    ("delete", "admin/users/{user}/permissions/{permission}", "identity.manage_permissions"),
    ("get", "admin/roles", "identity.manage_roles"),
    ("post", "admin/roles", "identity.manage_roles"),
    ("get", "admin/roles/{role}", "identity.manage_roles"),
    ("patch", "admin/roles/{role}", "identity.manage_roles"),
    ("delete", "admin/roles/{role}", "identity.manage_roles"),
    ("post", "admin/roles/{role}/clone", "identity.manage_roles"),
    ("get", "admin/roles/{role}/permissions", "identity.manage_roles"),
    ("post", "admin/roles/{role}/permissions", "identity.manage_roles"),
    ("delete", "admin/roles/{role}/permissions/{permission}", "identity.manage_roles"),
    ("get", "admin/permissions", "identity.manage_permissions"),
    ("post", "admin/permissions", "identity.manage_permissions"),
    ("get", "admin/permissions/{permission}", "identity.manage_permissions"),
    ("patch", "admin/permissions/{permission}", "identity.manage_permissions"),
    ("delete", "admin/permissions/{permission}", "identity.manage_permissions"),
    ("get", "admin/elevation-requests", "identity.approve_elevation"),
    ("post", "admin/elevation-requests/{request}/approve", "identity.approve_elevation"),
    ("post", "admin/elevation-requests/{request}/deny", "identity.approve_elevation"),
    ("get", "ops/dead-letters", "ops.manage_dead_letters"),
    ("post", "ops/dead-letters/1/replay", "ops.manage_dead_letters"),
    ("post", "ops/dead-letters/1/discard", "ops.manage_dead_letters"),
]


def sign_in(user: User) -> object:
    return bearer(login(api(), user.email).json()["access"])


def call(client, method: str, path: str, objects: dict):
    return getattr(client, method)(f"/api/v1/{path.format(**objects)}", {}, format="json")


@pytest.fixture
def objects():
    """Things for the paths to name (a target user, a role, a permission, a session, a request)."""
    target = user_register(email="target@example.com", password=PASSWORD)
    session = login(api(), target.email).json()["session_id"]
    permission = grants.permission_create(codename="tests.something", name="Something")
    role = roles.role_create(name="a role")
    from identity.services.elevation import elevation_request

    request = elevation_request(
        user=target, codename="tests.something", justification="x", duration_seconds=600
    )
    return {
        "user": target.id,
        "role": role.id,
        "permission": permission.id,
        "session": session,
        "request": request.id,
    }


@pytest.mark.parametrize(("method", "path", "codename"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_every_admin_endpoint_is_refused_without_its_permission_and_allowed_through_an_inherited_role(
    method, path, codename, objects
):
    # given an operator without the permission, and a child role whose parent holds it
    operator = user_register(email="operator@example.com", password=PASSWORD)
    parent = roles.role_create(name="parent", permissions=[Permission.objects.get(codename=codename)])
    child = roles.role_create(name="child", parent=parent)
    since = mark()

    # when the operator calls without the permission: refused, and the refusal is an event
    refused = call(sign_in(operator), method, path, objects)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    denied = [e for e in published_since(since) if e.type == "permission_check.denied"]
    assert [(d.data["user_id"], d.data["codename"]) for d in denied] == [(str(operator.id), codename)]

    # then through the inherited role it is allowed
    roles.role_assign(user=operator, role=child)
    allowed = call(sign_in(operator), method, path, objects)
    assert allowed.status_code not in (401, 403), allowed.content

    # and refused again once the parent role is deactivated
    roles.role_update(role=parent, fields={"is_active": False})
    assert call(sign_in(operator), method, path, objects).status_code == 403


def test_an_expired_grant_or_assignment_grants_nothing_and_the_sweep_publishes_it(alice):
    permission = Permission.objects.get(codename="identity.manage_users")
    admin_role = Role.objects.get(name="administrator")
    grants.permission_grant(user=alice, permission=permission, expires_at=timezone.now() + timedelta(hours=1))
    roles.role_assign(user=alice, role=admin_role, expires_at=timezone.now() + timedelta(hours=1))
    assert sign_in(alice).get("/api/v1/admin/users").status_code == 200
    past = timezone.now() - timedelta(seconds=1)
    alice.permission_grants.update(expires_at=past)
    alice.role_assignments.update(expires_at=past)
    since = mark()

    refused = sign_in(alice).get("/api/v1/admin/users")
    expired = roles.assignments_expire_due() + grants.grants_expire_due()

    assert refused.status_code == 403
    assert expired == 2
    types = [e.type for e in published_since(since)]
    assert "role_assignment.expired" in types
    assert "permission_grant.expired" in types


def test_has_perm_costs_a_fixed_number_of_queries_whatever_the_depth_and_is_kept_for_the_request(alice):
    # given alice holding five roles at the bottom of a ten-level hierarchy
    permission = grants.permission_create(codename="tests.deep", name="Deep")
    top = roles.role_create(name="level-0", permissions=[permission])
    parent = top
    for level in range(1, 10):
        parent = roles.role_create(name=f"level-{level}", parent=parent)
    for n in range(5):
        roles.role_assign(user=alice, role=roles.role_create(name=f"leaf-{n}", parent=parent))
    user = User.objects.get(pk=alice.pk)

    # when her permissions are checked many times in one request
    with CaptureQueriesContext(connection) as queries:
        checks = [user.has_perm("tests.deep") for _ in range(20)] + [user.has_perm("tests.nothing")]

    # then the answers are right, for six queries in all: four of roles and grants, two of
    # Django's own model permissions (ModelBackend, kept for the Django admin)
    assert checks == [True] * 20 + [False]
    assert len(queries) == 6
    assert permissions_of(user) >= {"tests.deep"}


def test_a_cycle_in_the_hierarchy_is_refused(admin_user):
    a = roles.role_create(name="a")
    b = roles.role_create(name="b", parent=a)
    client = client_for(admin_user)

    response = client.patch(f"/api/v1/admin/roles/{a.id}", {"parent_id": str(b.id)}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "role_cycle"
    assert Role.objects.get(pk=a.pk).parent is None


def client_for(user: User):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def test_role_lifecycle_publishes_each_kind_of_change(admin_user):
    client = client_for(admin_user)
    since = mark()

    parent = client.post("/api/v1/admin/roles", {"name": "support"}, format="json").json()
    role = client.post("/api/v1/admin/roles", {"name": "helpdesk", "is_default": True}, format="json").json()
    client.patch(
        f"/api/v1/admin/roles/{role['role_id']}",
        {"parent_id": parent["role_id"], "is_active": False, "description": "first line"},
        format="json",
    )
    client.post(
        f"/api/v1/admin/roles/{role['role_id']}/permissions",
        {"permission": "identity.manage_users"},
        format="json",
    )
    clone = client.post(
        f"/api/v1/admin/roles/{role['role_id']}/clone", {"name": "helpdesk-2"}, format="json"
    ).json()
    client.delete(f"/api/v1/admin/roles/{clone['role_id']}")

    assert [e.type for e in published_since(since)] == [
        "role.created",
        "role.created", "role.default_changed",
        "role.updated", "role.parent_changed", "role.deactivated",
        "permission.granted_to_role",
        "role.created", "permission.granted_to_role", "role.cloned",
        "role.deleted",
    ]  # fmt: skip
    updated = published_since(since)[3]
    assert sorted(updated.data["changed_fields"]) == ["description", "is_active", "parent"]


def test_elevation_is_decided_by_someone_else_and_grants_for_a_while(alice, admin_user):
    since = mark()
    asked = sign_in(alice).post(
        "/api/v1/me/elevation-requests",
        {"permission": "identity.manage_users", "justification": "incident 42", "duration_seconds": 900},
        format="json",
    )
    assert asked.status_code == 201
    request_id = asked.json()["request_id"]
    roles.role_assign(user=alice, role=Role.objects.get(name="administrator"))

    own = sign_in(alice).post(f"/api/v1/admin/elevation-requests/{request_id}/approve")
    approved = client_for(admin_user).post(f"/api/v1/admin/elevation-requests/{request_id}/approve")
    twice = client_for(admin_user).post(
        f"/api/v1/admin/elevation-requests/{request_id}/deny", {"reason": "x"}
    )

    assert own.status_code == 403
    assert own.json()["error"]["code"] == "own_request"
    assert approved.status_code == 200
    assert twice.status_code == 409
    types = [e.type for e in published_since(since) if e.type.startswith("permission")]
    assert types == [
        "permission_elevation.requested", "permission.granted_to_user", "permission_elevation.approved",
    ]  # fmt: skip
    grant = alice.permission_grants.get()
    assert timedelta(seconds=890) < grant.expires_at - timezone.now() <= timedelta(seconds=900)


def test_separation_of_duties_refuses_or_flags_according_to_the_rule(alice):
    from identity.models import SodRule

    payer, approver, auditor = (roles.role_create(name=n) for n in ("payer", "approver", "auditor"))
    SodRule.objects.create(name="pay-and-approve", role_a=payer, role_b=approver, mode="refuse")
    SodRule.objects.create(name="pay-and-audit", role_a=payer, role_b=auditor, mode="flag")
    roles.role_assign(user=alice, role=payer)
    since = mark()

    with pytest.raises(Exception, match="may not be held together") as refused:
        roles.role_assign(user=alice, role=approver)
    roles.role_assign(user=alice, role=auditor)

    assert getattr(refused.value, "code", None) == "sod_conflict"
    assert not alice.role_assignments.filter(role=approver).exists()
    flagged = [e for e in published_since(since) if e.type == "compliance_violation.detected"]
    assert [(f.data["rule"], f.data["severity"]) for f in flagged] == [("sod_conflict", "high")]


def test_the_daily_check_reports_stale_privileged_accounts_once(alice):
    from identity.services.compliance import daily_check

    roles.role_assign(user=alice, role=Role.objects.get(name="administrator"))
    User.objects.filter(pk=alice.pk).update(last_login=timezone.now() - timedelta(days=200))
    since = mark()

    first, second = daily_check(), daily_check()

    assert second == 0
    rules = sorted(
        e.data["rule"] for e in published_since(since) if e.type == "compliance_violation.detected"
    )
    assert first == len(rules)
    assert "stale_privileged_account" in rules


def test_default_roles_are_given_at_sign_up():
    roles.role_create(name="member", is_default=True)

    user = user_register(email=f"{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD)

    assert list(user.role_assignments.values_list("role__name", flat=True)) == ["member"]
