"""The directory's holders of a permission: the same people `has_perm` answers yes for, in a
number of queries that does not grow with the number of users."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.models import Permission as DjangoPermission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from identity.directory import Contact, contacts_with_permission
from identity.models import Permission, PermissionGrant, Role, RoleAssignment, User
from identity.services import elevation, grants, roles
from tests.factories import PermissionFactory, RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

CODENAME = "tests.contact"


def users(prefix: str, n: int, **fields) -> list[User]:
    return User.objects.bulk_create(User(email=f"{prefix}-{i:03}@example.com", **fields) for i in range(n))


def add_people(n: int, permission: Permission, role: Role, group: Group) -> None:
    """n holders through each path (a role, a grant, a Django group) and n who hold nothing."""
    RoleAssignment.objects.bulk_create(RoleAssignment(user=u, role=role) for u in users(f"role{n}", n))
    PermissionGrant.objects.bulk_create(
        PermissionGrant(user=u, permission=permission) for u in users(f"grant{n}", n)
    )
    for user in users(f"group{n}", n):
        user.groups.add(group)
    users(f"nobody{n}", n)


def test_finding_the_holders_costs_the_same_number_of_queries_for_5_or_60_people_per_path():
    permission = grants.permission_create(codename=CODENAME, name="Contact")
    role = roles.role_create(name="contacts", permissions=[permission])
    group = Group.objects.create(name="django contacts")
    group.permissions.add(
        DjangoPermission.objects.get(codename="change_user", content_type__app_label="identity")
    )

    add_people(5, permission, role, group)
    with CaptureQueriesContext(connection) as few:
        assert len(contacts_with_permission(CODENAME)) == 10
    with CaptureQueriesContext(connection) as few_django:
        assert len(contacts_with_permission("identity.change_user")) == 5

    add_people(60, permission, role, group)
    with CaptureQueriesContext(connection) as many:
        assert len(contacts_with_permission(CODENAME)) == 130
    with CaptureQueriesContext(connection) as many_django:
        assert len(contacts_with_permission("identity.change_user")) == 65

    assert (len(few), len(few_django)) == (len(many), len(many_django))
    assert len(many) <= 2


def emails(codename: str) -> list[str]:
    return [c.email for c in contacts_with_permission(codename)]


def agrees_with_has_perm(codename: str) -> None:
    """For every user there is, being among the contacts is what has_perm answers."""
    found = set(emails(codename))
    answers = {u.email: u.has_perm(codename) for u in User.objects.all()}
    assert {email for email, holds in answers.items() if holds} == found


def test_the_holders_are_whom_has_perm_answers_yes_for_through_every_path(admin_user, alice):
    # given a permission, a role that has it, one that inherits it, and one that inherits it
    # through an inactive role (which passes nothing on)
    permission = grants.permission_create(codename=CODENAME, name="Contact")
    direct = roles.role_create(name="direct", permissions=[permission])
    inherited = roles.role_create(name="inherited", parent=roles.role_create(name="middle", parent=direct))
    switched_off = roles.role_create(name="switched off", parent=direct)
    below_switched_off = roles.role_create(name="below switched off", parent=switched_off)
    roles.role_update(role=switched_off, fields={"is_active": False})
    inactive_holder = roles.role_create(name="inactive holder", permissions=[permission])
    roles.role_update(role=inactive_holder, fields={"is_active": False})
    now = timezone.now()
    later, earlier = now + timedelta(hours=1), now - timedelta(seconds=1)

    def person(name: str, **fields) -> User:
        return UserFactory(email=f"{name}@example.com", **fields)

    roles.role_assign(user=person("direct-role"), role=direct)
    roles.role_assign(user=person("inherited-role"), role=inherited)
    roles.role_assign(user=person("below-inactive-role"), role=below_switched_off)
    roles.role_assign(user=person("inactive-role"), role=inactive_holder)
    roles.role_assign(user=person("assignment-live"), role=direct, expires_at=later)
    roles.role_assign(user=person("assignment-expired"), role=direct, expires_at=earlier)
    grants.permission_grant(user=person("grant-forever"), permission=permission)
    grants.permission_grant(user=person("grant-live"), permission=permission, expires_at=later)
    grants.permission_grant(user=person("grant-expired"), permission=permission, expires_at=earlier)
    roles.role_assign(user=person("inactive-user", is_active=False), role=direct)
    person("inactive-superuser", is_active=False, is_superuser=True)
    person("other-permission").permission_grants.create(
        permission=Permission.objects.get(codename="identity.manage_users")
    )
    approved = elevation.elevation_request(
        user=person("elevation-approved"), codename=CODENAME, justification="incident", duration_seconds=600
    )
    elevation.elevation_approve(request_id=approved.id, approver=admin_user)
    elevation.elevation_request(
        user=person("elevation-pending"), codename=CODENAME, justification="incident", duration_seconds=600
    )
    denied = elevation.elevation_request(
        user=person("elevation-denied"), codename=CODENAME, justification="incident", duration_seconds=600
    )
    elevation.elevation_deny(request_id=denied.id, approver=admin_user, reason="no")

    # then the contacts are, by e-mail, exactly those who hold it, and has_perm agrees for everyone
    assert emails(CODENAME) == [
        "assignment-live@example.com",
        "direct-role@example.com",
        "elevation-approved@example.com",
        "grant-forever@example.com",
        "grant-live@example.com",
        "inherited-role@example.com",
        "root@example.com",
    ]
    agrees_with_has_perm(CODENAME)
    assert contacts_with_permission(CODENAME)[-1] == Contact(
        user_id=admin_user.id, email="root@example.com", full_name="", is_active=True
    )


def test_djangos_model_permissions_come_from_django_groups_and_user_permissions_only(admin_user):
    # given identity.change_user through Django's user permissions, through a Django group, and
    # through rows of ours named like it (which grant nothing)
    change_user = DjangoPermission.objects.get(codename="change_user", content_type__app_label="identity")
    group = Group.objects.create(name="user editors")
    group.permissions.add(change_user)
    UserFactory(email="django-user-permission@example.com").user_permissions.add(change_user)
    UserFactory(email="django-group@example.com").groups.add(group)
    UserFactory(email="django-group-inactive@example.com", is_active=False).groups.add(group)
    ours = PermissionFactory(codename="identity.change_user", name="named like Django's")
    UserFactory(email="our-grant@example.com").permission_grants.create(permission=ours)
    role = RoleFactory(name="named like Django's")
    role.permissions.add(ours)
    roles.role_assign(user=UserFactory(email="our-role@example.com"), role=role)

    assert emails("identity.change_user") == [
        "django-group@example.com",
        "django-user-permission@example.com",
        "root@example.com",
    ]
    agrees_with_has_perm("identity.change_user")


@pytest.mark.parametrize(
    ("codename", "expected"),
    [
        ("identity.manage_users", ["alice@example.com", "root@example.com"]),
        ("tests.no_such_permission", ["root@example.com"]),
        ("no-app-label", ["root@example.com"]),
    ],
)
def test_a_superuser_holds_every_permission_even_one_that_does_not_exist(
    codename, expected, admin_user, alice
):
    roles.role_assign(user=alice, role=Role.objects.get(name="administrator"))

    assert emails(codename) == expected
    agrees_with_has_perm(codename)
