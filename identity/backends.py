"""The permission backend: `user.has_perm("identity.manage_users")` from roles and grants.

A user holds a permission through a direct grant or an assigned role, or through any ancestor
of an assigned role; assignments and grants count until they expire, and an inactive role
grants nothing (neither its own permissions nor, through it, its ancestors'). Four queries
whatever the depth of the hierarchy, and the result is kept on the user object, which lives
for one request. Django's own model permissions (`identity.change_user`) are never given
through roles and grants, whatever the rows say: those are ModelBackend's, and the Django admin
trusts them.
"""

from __future__ import annotations

from functools import cache

from django.apps import apps
from django.contrib.auth import get_permission_codename
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.db.models import Q, QuerySet
from django.utils import timezone

from identity.models import PermissionGrant, Role, RoleAssignment, RolePermission

CACHE_ATTR = "_identity_permissions"


@cache
def django_model_permissions() -> frozenset[str]:
    """`<app_label>.<add|change|delete|view>_<model_name>` of every installed model: the
    codenames Django's admin checks, which our permissions may not take."""
    return frozenset(
        f"{model._meta.app_label}.{get_permission_codename(action, model._meta)}"
        for model in apps.get_models(include_auto_created=True, include_swapped=True)
        for action in model._meta.default_permissions
    )


def _current(now) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


def _live_grants(now) -> QuerySet[PermissionGrant]:
    return PermissionGrant.objects.filter(_current(now))


def _live_assignments(now) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.filter(_current(now))


def _chain(role_id, roles: dict) -> list:
    """The roles a holder of `role_id` gets: it and its ancestors, up to the first inactive one
    (which grants nothing, nor its ancestors through it); once around a cycle. `roles` maps
    each role's id to its row of id, parent_id and is_active."""
    chain = []
    while role_id is not None and role_id not in chain and role_id in roles and roles[role_id]["is_active"]:
        chain.append(role_id)
        role_id = roles[role_id]["parent_id"]
    return chain


def effective_roles(user, now=None) -> set:
    """Ids of the active roles the user holds, directly or as ancestors of an assigned role."""
    now = now or timezone.now()
    assigned = set(_live_assignments(now).filter(user=user).values_list("role_id", flat=True))
    if not assigned:
        return set()
    roles = {r["id"]: r for r in Role.objects.values("id", "parent_id", "is_active")}
    return {role_id for assigned_id in assigned for role_id in _chain(assigned_id, roles)}


def permissions_of(user) -> frozenset[str]:
    cached = getattr(user, CACHE_ATTR, None)
    if cached is not None:
        return cached
    now = timezone.now()
    codenames = set(_live_grants(now).filter(user=user).values_list("permission__codename", flat=True))
    role_ids = effective_roles(user, now)
    if role_ids:
        codenames |= set(
            RolePermission.objects.filter(role_id__in=role_ids).values_list("permission__codename", flat=True)
        )
    result = frozenset(codenames - django_model_permissions())
    setattr(user, CACHE_ATTR, result)
    return result


def forget_permissions(user) -> None:
    """After a change to the user's roles or grants, within the same request."""
    if hasattr(user, CACHE_ATTR):
        delattr(user, CACHE_ATTR)


class SessionUserBackend(ModelBackend):
    """Finds the user of a Django session (the admin site's) and answers Django's model
    permissions; it never checks a password: every door signs in through identity's login
    service (identity/services/login.py), so `authenticate()` alone opens nothing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        return None


class RoleBackend(BaseBackend):
    """Answers permission checks only; signing in is the login service's business."""

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(permissions_of(user_obj))

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)
