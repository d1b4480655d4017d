"""What the admin's actions share: one service call per selected row, and the permission that
actions on users and sessions ask."""

from django.contrib import messages

from identity.errors import IdentityError


def each(modeladmin, request, queryset, operation, done: str) -> None:
    count = 0
    for item in queryset:
        try:
            operation(item)
            count += 1
        except IdentityError as exc:
            modeladmin.message_user(request, f"{item}: {exc.detail}", messages.WARNING)
    modeladmin.message_user(request, f"{count} {done}.", messages.SUCCESS)


class ManageUsersActions:
    """Actions on users and their sessions need our identity.manage_users, not Django's change
    permission: `@admin.action(permissions=["manage_users"])` asks this."""

    def has_manage_users_permission(self, request) -> bool:
        return request.user.has_perm("identity.manage_users")
