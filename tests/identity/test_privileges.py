"""Privileges: every way in (API, Django admin) keeps our permissions apart from Django's model
permissions, and staff and superuser status (and Django's groups and permissions) in a
superuser's hands, and the admin's actions behind our permissions."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.models import Permission as DjangoPermission
from django_otp.plugins.otp_static.models import StaticDevice

from identity.models import AuthSession, ElevationRequest, Permission, User
from identity.services import elevation, grants, lockout, mfa_devices
from identity.services.accounts import user_register
from tests.factories import PermissionFactory, UserFactory
from tests.identity.support import PASSWORD, api, bearer, login, mark, types_since
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db

USERS = "/admin/identity/user/"


def operator_with(*codenames: str, django: tuple[str, ...] = (), email="operator@example.com") -> User:
    """A staff non-superuser holding our `codenames` (grants) and Django's `django` permissions
    (`app_label.codename`, through ModelBackend)."""
    operator = UserFactory(email=email, staff=True)
    for codename in codenames:
        grants.permission_grant(user=operator, permission=Permission.objects.get(codename=codename))
    for name in django:
        app_label, codename = name.split(".")
        operator.user_permissions.add(
            DjangoPermission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=operator.pk)


def sign_in(user: User):
    return bearer(login(api(), user.email).json()["access"])


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code


# --- our codenames are not Django's ----------------------------------------------------------


@pytest.mark.parametrize("codename", ["identity.change_user", "auth.add_group", "identity.view_permission"])
def test_the_api_refuses_to_create_a_permission_named_like_a_django_model_permission(codename):
    operator = operator_with("identity.manage_permissions")
    client = sign_in(operator)
    since = mark()

    response = client.post(
        "/api/v1/admin/permissions", {"codename": codename, "name": "Sneaky"}, format="json"
    )

    assert_refused(response, 400, "validation_error")
    assert list(response.json()["error"]["fields"]) == ["codename"]
    assert not Permission.objects.filter(codename=codename).exists()
    assert types_since(since) == []


def test_the_api_refuses_to_rename_a_permission_to_a_django_model_permission():
    operator = operator_with("identity.manage_permissions")
    permission = grants.permission_create(codename="tests.harmless", name="Harmless")
    client = sign_in(operator)
    since = mark()

    response = client.patch(
        f"/api/v1/admin/permissions/{permission.id}", {"codename": "identity.change_user"}, format="json"
    )

    assert_refused(response, 400, "validation_error")
    assert Permission.objects.get(pk=permission.pk).codename == "tests.harmless"
    assert types_since(since) == []


def test_the_django_admin_refuses_a_permission_named_like_a_django_model_permission(client, admin_user):
    admin_sign_in(client, admin_user, PASSWORD)
    since = mark()

    response = client.post(
        "/admin/identity/permission/add/",
        {
            "codename": "identity.change_user",
            "name": "Sneaky",
            "created_at_0": "2025-01-01",
            "created_at_1": "12:00:00",
        },
    )

    assert response.status_code == 200
    assert "codename" in response.context["adminform"].form.errors
    assert not Permission.objects.filter(codename="identity.change_user").exists()
    assert types_since(since) == []


def test_a_row_named_like_a_django_model_permission_grants_nothing(client):
    # given a permission row named like Django's change_user, there from before the rule
    sneaky = PermissionFactory(codename="identity.change_user", name="Sneaky")
    operator = operator_with("audit.view_auditlog")
    grants.permission_grant(user=operator, permission=sneaky)
    admin_sign_in(client, operator, PASSWORD)

    # when the operator opens the Django admin's users and asks for its permissions
    changelist = client.get(USERS)
    me = client.get("/api/v1/me").json()

    # then Django's permission is not held, and ours (declared in a model's Meta) still is
    assert changelist.status_code == 403
    assert "identity.change_user" not in me["permissions"]
    assert "audit.view_auditlog" in me["permissions"]


# --- staff and superuser status --------------------------------------------------------------


@pytest.mark.parametrize("was_staff", [False, True])
def test_only_a_superuser_changes_staff_status_through_the_api(was_staff, admin_user):
    target = UserFactory(email="target@example.com", is_staff=was_staff)
    operator = operator_with("identity.manage_users")
    since = mark()

    refused = sign_in(operator).patch(
        f"/api/v1/admin/users/{target.id}", {"is_staff": not was_staff, "full_name": "T"}, format="json"
    )

    assert_refused(refused, 403, "superuser_required")
    target.refresh_from_db()
    assert (target.is_staff, target.full_name) == (was_staff, "")
    assert "user.updated" not in types_since(since)

    allowed = sign_in(admin_user).patch(
        f"/api/v1/admin/users/{target.id}", {"is_staff": not was_staff}, format="json"
    )

    assert allowed.status_code == 200, allowed.content
    assert User.objects.get(pk=target.pk).is_staff is not was_staff


@pytest.mark.parametrize(
    ("path", "body"),
    [("password", {"new_password": "A-brand-new-Password-91"}), ("", {"email": "mine@example.com"})],
    ids=["password", "e-mail"],
)
def test_a_user_manager_cannot_take_over_a_superuser(admin_user, path, body):
    """Setting a superuser's password, or the e-mail its resets go to, would make manage_users
    worth every permission."""
    operator = operator_with("identity.manage_users")
    url = f"/api/v1/admin/users/{admin_user.id}" + (f"/{path}" if path else "")
    client = sign_in(operator)
    since = mark()

    refused = client.generic(
        "POST" if path else "PATCH", url, json.dumps(body), content_type="application/json"
    )

    assert_refused(refused, 403, "superuser_required")
    assert types_since(since) == []
    assert login(api(), admin_user.email).status_code == 200


def test_a_non_superuser_may_send_staff_status_unchanged_with_other_edits():
    target = UserFactory(email="target@example.com")
    operator = operator_with("identity.manage_users")

    response = sign_in(operator).patch(
        f"/api/v1/admin/users/{target.id}", {"is_staff": False, "full_name": "Target"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert User.objects.get(pk=target.pk).full_name == "Target"


# --- the Django admin's user form ------------------------------------------------------------


def change_form_post(target: User, **extra) -> dict:
    """What the user change form posts, with `extra` a crafted addition."""
    return {
        "email": target.email,
        "full_name": "Changed",
        "is_active": "on",
        "auth_sessions-TOTAL_FORMS": "0",
        "auth_sessions-INITIAL_FORMS": "0",
        "auth_sessions-MIN_NUM_FORMS": "0",
        "auth_sessions-MAX_NUM_FORMS": "1000",
        **extra,
    }


def privileges_of(user: User) -> tuple:
    user = User.objects.get(pk=user.pk)
    return user.is_staff, user.is_superuser, list(user.groups.all()), list(user.user_permissions.all())


def test_a_staff_non_superuser_can_neither_see_nor_post_privilege_fields_in_the_django_admin(client):
    operator = operator_with(django=("identity.view_user", "identity.change_user"))
    target = user_register(email="target@example.com", password=PASSWORD)
    group = Group.objects.create(name="editors")
    django_permission = DjangoPermission.objects.get(codename="delete_user")
    admin_sign_in(client, operator, PASSWORD)
    page = f"{USERS}{target.pk}/change/"

    shown = client.get(page)
    response = client.post(
        page,
        change_form_post(
            target,
            is_staff="on",
            is_superuser="on",
            groups=[group.pk],
            user_permissions=[django_permission.pk],
        ),
    )

    assert response.status_code == 302, response.content
    assert User.objects.get(pk=target.pk).full_name == "Changed"
    assert privileges_of(target) == (False, False, [], [])
    assert shown.status_code == 200
    assert not {"is_staff", "is_superuser", "groups", "user_permissions"} & set(
        shown.context["adminform"].form.fields
    )


def test_a_superuser_still_grants_privileges_in_the_django_admin(client, admin_user):
    target = user_register(email="target@example.com", password=PASSWORD)
    group = Group.objects.create(name="editors")
    admin_sign_in(client, admin_user, PASSWORD)

    response = client.post(
        f"{USERS}{target.pk}/change/", change_form_post(target, is_staff="on", groups=[group.pk])
    )

    assert response.status_code == 302, response.content
    assert privileges_of(target) == (True, False, [group], [])


# --- admin actions need our permissions, not Django's ----------------------------------------


def _locked(user):
    lockout.user_lock(user=user, reason="admin")


def _inactive(user):
    User.objects.filter(pk=user.pk).update(is_active=False)


def _with_backup_codes(user):
    mfa_devices.backup_codes_generate(user=user)


USER_ACTIONS = [
    ("lock_users", None, lambda u: u.locked_at is None),
    ("unlock_users", _locked, lambda u: u.locked_at is not None),
    ("deactivate_users", None, lambda u: u.is_active),
    ("reactivate_users", _inactive, lambda u: not u.is_active),
    ("reset_mfa", _with_backup_codes, lambda u: StaticDevice.objects.filter(user=u).exists()),
]


@pytest.mark.parametrize(("action", "arrange", "unchanged"), USER_ACTIONS, ids=[a[0] for a in USER_ACTIONS])
def test_a_user_action_needs_manage_users_not_djangos_change_user(client, action, arrange, unchanged):
    # given a staff user with Django's permissions on users, but not ours
    operator = operator_with(django=("identity.view_user", "identity.change_user"))
    target = user_register(email="target@example.com", password=PASSWORD)
    if arrange:
        arrange(target)
    admin_sign_in(client, operator, PASSWORD)
    since = mark()

    # when the operator looks at the users and posts the action all the same
    listed = client.get(USERS)
    client.post(USERS, {"action": action, "_selected_action": [target.pk]})

    # then the action is neither run nor offered
    assert unchanged(User.objects.get(pk=target.pk))
    assert types_since(since) == []
    assert listed.status_code == 200
    assert f'value="{action}"' not in listed.content.decode()


def test_a_user_action_runs_for_a_holder_of_manage_users(client):
    operator = operator_with("identity.manage_users", django=("identity.view_user",))
    target = user_register(email="target@example.com", password=PASSWORD)
    admin_sign_in(client, operator, PASSWORD)

    listed = client.get(USERS)
    client.post(USERS, {"action": "lock_users", "_selected_action": [target.pk]})

    assert 'value="lock_users"' in listed.content.decode()
    assert User.objects.get(pk=target.pk).locked_at is not None


@pytest.mark.parametrize("action", ["approve", "deny"])
def test_deciding_elevation_in_the_admin_needs_approve_elevation(client, action, alice):
    request = elevation.elevation_request(
        user=alice, codename="identity.manage_users", justification="incident", duration_seconds=600
    )
    without = operator_with(django=("identity.view_elevationrequest", "identity.change_elevationrequest"))
    holder = operator_with(
        "identity.approve_elevation", django=("identity.view_elevationrequest",), email="approver@example.com"
    )
    changelist = "/admin/identity/elevationrequest/"

    admin_sign_in(client, without, PASSWORD)
    client.post(changelist, {"action": action, "_selected_action": [request.pk]})
    refused = ElevationRequest.objects.get(pk=request.pk).status
    admin_sign_in(client, holder, PASSWORD)
    client.post(changelist, {"action": action, "_selected_action": [request.pk]})

    assert refused == "pending"
    assert (
        ElevationRequest.objects.get(pk=request.pk).status
        == {"approve": "approved", "deny": "denied"}[action]
    )


def test_ending_sessions_in_the_admin_needs_manage_users(client, alice):
    session_id = login(api(), alice.email).json()["session_id"]
    without = operator_with(django=("identity.view_authsession", "identity.change_authsession"))
    holder = operator_with(
        "identity.manage_users", django=("identity.view_authsession",), email="o2@example.com"
    )
    changelist = "/admin/identity/authsession/"

    admin_sign_in(client, without, PASSWORD)
    client.post(changelist, {"action": "end_sessions", "_selected_action": [session_id]})
    refused = AuthSession.objects.get(pk=session_id).status
    admin_sign_in(client, holder, PASSWORD)
    client.post(changelist, {"action": "end_sessions", "_selected_action": [session_id]})

    assert refused == "active"
    assert AuthSession.objects.get(pk=session_id).status != "active"
