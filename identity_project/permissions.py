"""DRF permission classes that name the permission an endpoint needs (API.md).

A refusal of a signed-in user is announced with the `permission_denied` signal; identity turns
it into a PermissionCheckDenied event (this module knows no domain).
"""

from django.dispatch import Signal
from rest_framework.permissions import BasePermission

# Sent with user, codename, request when a signed-in user is refused.
permission_denied = Signal()


def has_permission(codename: str) -> type[BasePermission]:
    """A permission class requiring `codename` (e.g. "ops.manage_dead_letters") of the user."""

    class HasPermission(BasePermission):
        message = f"This needs the permission {codename}."

        def has_permission(self, request, view) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            if user.has_perm(codename):
                return True
            permission_denied.send(sender=HasPermission, user=user, codename=codename, request=request)
            return False

    HasPermission.__name__ = f"Has_{codename.replace('.', '_')}"
    return HasPermission
