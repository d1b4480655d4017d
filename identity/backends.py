"""The permission backend: `user.has_perm("identity.manage_users")` from roles and grants, and
`users_holding(codename)`, the same rule asked the other way round: who holds it.

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
from django.contrib.auth.models import Permission as DjangoPermission
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from identity.models import PermissionGrant, Role, RoleAssignment, RolePermission, User

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


def roles_giving(codename: str) -> set:
    """Ids of the roles whose holders get `codename`: those whose chain (_chain, as for
    effective_roles) reaches a role that has it. One query, whatever the number of roles."""
    has_it = RolePermission.objects.filter(role=OuterRef("pk"), permission__codename=codename)
    roles = {r["id"]: r for r in Role.objects.values("id", "parent_id", "is_active", has_it=Exists(has_it))}
    return {role_id for role_id in roles if any(roles[r]["has_it"] for r in _chain(role_id, roles))}


def users_holding(codename: str, now=None) -> QuerySet[User]:
    """The users for whom `user.has_perm(codename)` is true, in two queries (the roles, then the
    users; the users alone for one of Django's model permissions) however many users there are.

    The two definitions must agree: a change to who holds a permission goes into both. Here
    are, in has_perm's order, an active superuser (PermissionsMixin holds them everything),
    Django's own user and group permissions (SessionUserBackend, a ModelBackend), and the
    live grants and assignments of permissions_of, which never give Django's model permissions.
    """
    now = now or timezone.now()
    holds = Q(is_superuser=True)
    app_label, dot, name = codename.partition(".")
    if dot:
        django_permission = DjangoPermission.objects.filter(content_type__app_label=app_label, codename=name)
        by_user = User.user_permissions.through.objects.filter(permission__in=django_permission)
        by_group = User.groups.through.objects.filter(group__permissions__in=django_permission)
        holds |= Q(pk__in=by_user.values("user_id")) | Q(pk__in=by_group.values("user_id"))
    if codename not in django_model_permissions():
        holds |= Q(pk__in=_live_grants(now).filter(permission__codename=codename).values("user_id"))
        role_ids = roles_giving(codename)
        if role_ids:
            holds |= Q(pk__in=_live_assignments(now).filter(role_id__in=role_ids).values("user_id"))
    return User.objects.filter(holds, is_active=True)


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
