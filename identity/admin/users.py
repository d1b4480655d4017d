"""The admin of users: their fields, password (through the service), locks, activation and second
factor."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from identity.admin.actions import ManageUsersActions, each
from identity.admin.sessions import SessionInline
from identity.models import User
from identity.services import accounts, lockout, mfa_devices, passwords


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """The admin's set-password form, through the service: PasswordChanged and sessions ended."""

    def save(self, commit=True):
        passwords.password_set_by_admin(user=self.user, new=self.cleaned_data["password1"])
        return self.user


@admin.register(User)
class UserAdmin(ManageUsersActions, BaseUserAdmin):
    change_password_form = ServicePasswordChangeForm
    ordering = ("email",)
    list_display = (
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "locked_until",
        "date_joined",
        "last_login",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "lock_reason")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Lock", {"fields": ("locked_at", "locked_until", "lock_reason", "lock_count")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined", "locked_at", "locked_until", "lock_reason", "lock_count")
    inlines = (SessionInline,)

    def get_readonly_fields(self, request, obj=None):
        """What opens the Django admin or grants in it is a superuser's to change: others see it,
        and what they post of it is ignored."""
        if request.user.is_superuser:
            return self.readonly_fields
        return (*self.readonly_fields, *accounts.SUPERUSER_FIELDS, "groups", "user_permissions")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        """A staff or superuser account (its password included) is a superuser's to change."""
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    actions = ("lock_users", "unlock_users", "deactivate_users", "reactivate_users", "reset_mfa")

    @admin.action(description="Lock (until unlocked; sessions end)", permissions=["manage_users"])
    def lock_users(self, request, queryset):
        each(self, request, queryset, lambda u: lockout.user_lock(user=u, reason="admin"), "locked")

    @admin.action(description="Unlock", permissions=["manage_users"])
    def unlock_users(self, request, queryset):
        each(self, request, queryset, lambda u: lockout.user_unlock(user=u, reason="admin"), "unlocked")

    @admin.action(description="Deactivate (sessions end)", permissions=["manage_users"])
    def deactivate_users(self, request, queryset):
        each(
            self, request, queryset, lambda u: accounts.user_deactivate(user=u, reason="admin"), "deactivated"
        )

    @admin.action(description="Reactivate", permissions=["manage_users"])
    def reactivate_users(self, request, queryset):
        each(self, request, queryset, lambda u: accounts.user_reactivate(user=u), "reactivated")

    @admin.action(description="Reset the second factor (the user enrols again)", permissions=["manage_users"])
    def reset_mfa(self, request, queryset):
        each(self, request, queryset, lambda u: mfa_devices.mfa_reset(user=u), "reset")
