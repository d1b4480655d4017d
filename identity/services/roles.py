"""Roles: create, edit (parent, activity, default), clone, delete; their permissions; assignments."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from identity.backends import forget_permissions
from identity.errors import Conflict, NotFound
from identity.events import (
    PermissionGrantedToRole,
    PermissionRevokedFromRole,
    RoleActivated,
    RoleAssignedToUser,
    RoleAssignmentExpired,
    RoleAssignmentUpdated,
    RoleCloned,
    RoleCreated,
    RoleDeactivated,
    RoleDefaultChanged,
    RoleDeleted,
    RoleParentChanged,
    RoleRevokedFromUser,
    RoleUpdated,
)
from identity.models import Permission, Role, RoleAssignment, RolePermission, User
from identity.services import compliance
from identity.services.sweeps import each_due
from identity_project.eventbus.publisher import publish

EDITABLE = ("name", "description", "parent", "is_active", "is_default", "is_privileged")


def _check_parent(role: Role, parent: Role | None) -> None:
    """Refuse a parent that would make the hierarchy a cycle."""
    seen = set()
    while parent is not None:
        if parent.pk == role.pk or parent.pk in seen:
            raise Conflict("That parent would make the role hierarchy a cycle.", code="role_cycle")
        seen.add(parent.pk)
        parent = parent.parent


@transaction.atomic
def role_create(
    *, name: str, description: str = "", parent: Role | None = None, is_default: bool = False,
    is_privileged: bool = False, permissions: list[Permission] | None = None,
) -> Role:  # fmt: skip
    try:
        with transaction.atomic():
            role = Role.objects.create(
                name=name,
                description=description,
                parent=parent,
                is_default=is_default,
                is_privileged=is_privileged,
            )
    except IntegrityError as exc:
        raise Conflict("A role with this name already exists.", code="role_exists") from exc
    publish(RoleCreated(role_id=role.id, name=role.name, parent_id=parent.id if parent else None))
    if is_default:
        publish(RoleDefaultChanged(role_id=role.id, is_default=True))
    for permission in permissions or []:
        role_grant_permission(role=role, permission=permission)
    return role


@transaction.atomic
def role_update(*, role: Role, fields: dict) -> Role:
    """Apply edits; each kind of change publishes its own event besides RoleUpdated."""
    role = Role.objects.select_for_update().get(pk=role.pk)
    before = {name: getattr(role, name) for name in EDITABLE}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise ValueError(f"{name} cannot be edited")
        if name == "parent":
            _check_parent(role, value)
        setattr(role, name, value)
    changed = [name for name in EDITABLE if getattr(role, name) != before[name]]
    if not changed:
        return role
    try:
        with transaction.atomic():
            role.save()
    except IntegrityError as exc:
        raise Conflict("A role with this name already exists.", code="role_exists") from exc
    publish(RoleUpdated(role_id=role.id, changed_fields=changed))
    if "parent" in changed:
        old = before["parent"]
        publish(
            RoleParentChanged(
                role_id=role.id, old_parent_id=old.id if old else None, new_parent_id=role.parent_id
            )
        )
    if "is_active" in changed:
        publish(RoleActivated(role_id=role.id) if role.is_active else RoleDeactivated(role_id=role.id))
    if "is_default" in changed:
        publish(RoleDefaultChanged(role_id=role.id, is_default=role.is_default))
    return role


@transaction.atomic
def role_delete(*, role: Role) -> None:
    """Its assignments end first (RoleRevokedFromUser, reason role_deleted); children keep no parent."""
    if role.children.exists():
        raise Conflict(
            "Other roles inherit from this one: give them another parent first.", code="role_has_children"
        )
    for assignment in RoleAssignment.objects.select_related("user").filter(role=role):
        role_unassign(user=assignment.user, role=role, reason="role_deleted")
    role_id, name = role.id, role.name
    role.delete()
    publish(RoleDeleted(role_id=role_id, name=name))


@transaction.atomic
def role_clone(*, role: Role, name: str) -> Role:
    clone = role_create(
        name=name,
        description=role.description,
        parent=role.parent,
        is_privileged=role.is_privileged,
        permissions=list(role.permissions.all()),
    )
    publish(RoleCloned(role_id=clone.id, source_role_id=role.id))
    return clone


@transaction.atomic
def role_grant_permission(*, role: Role, permission: Permission) -> bool:
    _, created = RolePermission.objects.get_or_create(role=role, permission=permission)
    if created:
        publish(PermissionGrantedToRole(permission_id=permission.id, role_id=role.id))
    return created


@transaction.atomic
def role_revoke_permission(*, role: Role, permission: Permission) -> None:
    deleted, _ = RolePermission.objects.filter(role=role, permission=permission).delete()
    if not deleted:
        raise NotFound("The role does not hold this permission.")
    publish(PermissionRevokedFromRole(permission_id=permission.id, role_id=role.id))


@transaction.atomic
def role_assign(
    *, user: User, role: Role, expires_at: datetime | None = None, assigned_by: User | None = None
) -> RoleAssignment:
    """Give the role (or change the expiry of an assignment it already has). Separation-of-duties
    rules refuse it or flag it; a privileged role is checked against the user's MFA."""
    assignment = RoleAssignment.objects.select_for_update().filter(user=user, role=role).first()
    if assignment is not None:
        if assignment.expires_at != expires_at:
            old = assignment.expires_at
            assignment.expires_at = expires_at
            assignment.save(update_fields=["expires_at"])
            publish(
                RoleAssignmentUpdated(
                    role_id=role.id, user_id=user.id, old_expires_at=old, new_expires_at=expires_at
                )
            )
        return assignment
    compliance.check_assignment(user=user, role=role)
    assignment = RoleAssignment.objects.create(
        user=user, role=role, expires_at=expires_at, assigned_by=assigned_by
    )
    publish(
        RoleAssignedToUser(
            role_id=role.id,
            user_id=user.id,
            expires_at=expires_at,
            assigned_by=assigned_by.id if assigned_by else None,
        )
    )
    forget_permissions(user)
    compliance.check_privileged_mfa(user=user, role=role)
    return assignment


@transaction.atomic
def role_unassign(*, user: User, role: Role, reason: str = "admin") -> None:
    deleted, _ = RoleAssignment.objects.filter(user=user, role=role).delete()
    if not deleted:
        raise NotFound("The user does not hold this role.")
    publish(RoleRevokedFromUser(role_id=role.id, user_id=user.id, reason=reason))
    forget_permissions(user)


def default_roles_give(*, user: User) -> None:
    """At sign-up: every default, active role."""
    for role in Role.objects.filter(is_default=True, is_active=True):
        role_assign(user=user, role=role)


def assignments_expire_due(*, now=None) -> int:
    """The periodic sweep: assignments past their expiry end (RoleAssignmentExpired)."""

    def expire(assignment: RoleAssignment) -> None:
        assignment.delete()
        publish(RoleAssignmentExpired(role_id=assignment.role_id, user_id=assignment.user_id))

    return each_due(RoleAssignment.objects.filter(expires_at__lte=now or timezone.now()), expire)
