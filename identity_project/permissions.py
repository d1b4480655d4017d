"""DRF permission classes that name the permission an endpoint needs (API.md)."""

from rest_framework.permissions import BasePermission


def has_permission(codename: str) -> type[BasePermission]:
    """A permission class requiring `codename` (e.g. "ops.manage_dead_letters") of the user."""

    class HasPermission(BasePermission):
        message = f"This needs the permission {codename}."

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perm(codename))

    HasPermission.__name__ = f"Has_{codename.replace('.', '_')}"
    return HasPermission
