"""Permissions: create, edit, delete; direct grants to users, which may expire."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from identity.backends import django_model_permissions, forget_permissions
from identity.errors import Conflict, IdentityError, NotFound
from identity.events import (
    PermissionCreated,
    PermissionDeleted,
    PermissionGrantedToUser,
    PermissionGrantExpired,
    PermissionGrantUpdated,
    PermissionRevokedFromUser,
    PermissionUpdated,
)
from identity.models import Permission, PermissionGrant, User
from identity.services.sweeps import each_due
from identity_project.eventbus.publisher import publish

EDITABLE = ("codename", "name", "description")


def codename_validate(codename: str) -> None:
    """Refuse the codename of one of Django's model permissions: the Django admin would take its
    holder for someone Django gave it to (identity.change_user, and the rest)."""
    if codename in django_model_permissions():
        raise IdentityError(
            "This codename is one of Django's model permissions.",
            code="validation_error",
            fields={"codename": [f"{codename} is Django's own; choose another codename."]},
        )


@transaction.atomic
def permission_create(*, codename: str, name: str, description: str = "") -> Permission:
    codename_validate(codename)
    try:
        with transaction.atomic():
            permission = Permission.objects.create(codename=codename, name=name, description=description)
    except IntegrityError as exc:
        raise Conflict("A permission with this codename already exists.", code="permission_exists") from exc
    publish(
        PermissionCreated(permission_id=permission.id, codename=permission.codename, name=permission.name)
    )
    return permission


@transaction.atomic
def permission_update(*, permission: Permission, fields: dict) -> Permission:
    changed = [name for name, value in fields.items() if getattr(permission, name) != value]
    if "codename" in changed:
        codename_validate(fields["codename"])
    for name in changed:
        if name not in EDITABLE:
            raise ValueError(f"{name} cannot be edited")
        setattr(permission, name, fields[name])
    if changed:
        try:
            with transaction.atomic():
                permission.save()
        except IntegrityError as exc:
            raise Conflict(
                "A permission with this codename already exists.", code="permission_exists"
            ) from exc
        publish(PermissionUpdated(permission_id=permission.id, changed_fields=changed))
    return permission


@transaction.atomic
def permission_delete(*, permission: Permission) -> None:
    permission_id, codename = permission.id, permission.codename
    permission.delete()
    publish(PermissionDeleted(permission_id=permission_id, codename=codename))


@transaction.atomic
def permission_grant(
    *, user: User, permission: Permission, expires_at: datetime | None = None, granted_by: User | None = None
) -> PermissionGrant:
    grant = PermissionGrant.objects.select_for_update().filter(user=user, permission=permission).first()
    if grant is not None:
        if grant.expires_at != expires_at:
            old = grant.expires_at
            grant.expires_at = expires_at
            grant.save(update_fields=["expires_at"])
            publish(
                PermissionGrantUpdated(
                    permission_id=permission.id,
                    user_id=user.id,
                    old_expires_at=old,
                    new_expires_at=expires_at,
                )
            )
        return grant
    grant = PermissionGrant.objects.create(
        user=user, permission=permission, expires_at=expires_at, granted_by=granted_by
    )
    publish(
        PermissionGrantedToUser(
            permission_id=permission.id,
            user_id=user.id,
            expires_at=expires_at,
            granted_by=granted_by.id if granted_by else None,
        )
    )
    forget_permissions(user)
    return grant


@transaction.atomic
def permission_revoke(*, user: User, permission: Permission, reason: str = "admin") -> None:
    deleted, _ = PermissionGrant.objects.filter(user=user, permission=permission).delete()
    if not deleted:
        raise NotFound("The user has no such grant.")
    publish(PermissionRevokedFromUser(permission_id=permission.id, user_id=user.id, reason=reason))
    forget_permissions(user)


def grants_expire_due(*, now=None) -> int:
    """The periodic sweep: grants past their expiry end (PermissionGrantExpired)."""

    def expire(grant: PermissionGrant) -> None:
        grant.delete()
        publish(PermissionGrantExpired(permission_id=grant.permission_id, user_id=grant.user_id))

    return each_due(PermissionGrant.objects.filter(expires_at__lte=now or timezone.now()), expire)
