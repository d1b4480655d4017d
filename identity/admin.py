"""The Django admin for users and sessions; every action goes through the services (and their events)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from identity.errors import IdentityError
from identity.models import AuthSession, User
from identity.services import accounts, lockout, passwords, sessions


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """The admin's set-password form, through the service: PasswordChanged and sessions ended."""

    def save(self, commit=True):
        passwords.password_set_by_admin(user=self.user, new=self.cleaned_data["password1"])
        return self.user


class SessionInline(admin.TabularInline):
    model = AuthSession
    fields = (
        "status",
        "session_type",
        "ip_address",
        "user_agent",
        "created_at",
        "last_seen_at",
        "end_reason",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


def _each(modeladmin, request, queryset, operation, done: str) -> None:
    count = 0
    for item in queryset:
        try:
            operation(item)
            count += 1
        except IdentityError as exc:
            modeladmin.message_user(request, f"{item}: {exc.detail}", messages.WARNING)
    modeladmin.message_user(request, f"{count} {done}.", messages.SUCCESS)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    actions = ("lock_users", "unlock_users", "deactivate_users", "reactivate_users")

    @admin.action(description="Lock (until unlocked; sessions end)", permissions=["change"])
    def lock_users(self, request, queryset):
        _each(self, request, queryset, lambda u: lockout.user_lock(user=u, reason="admin"), "locked")

    @admin.action(description="Unlock", permissions=["change"])
    def unlock_users(self, request, queryset):
        _each(self, request, queryset, lambda u: lockout.user_unlock(user=u, reason="admin"), "unlocked")

    @admin.action(description="Deactivate (sessions end)", permissions=["change"])
    def deactivate_users(self, request, queryset):
        _each(
            self, request, queryset, lambda u: accounts.user_deactivate(user=u, reason="admin"), "deactivated"
        )

    @admin.action(description="Reactivate", permissions=["change"])
    def reactivate_users(self, request, queryset):
        _each(self, request, queryset, lambda u: accounts.user_reactivate(user=u), "reactivated")


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "status",
        "session_type",
        "ip_address",
        "created_at",
        "last_seen_at",
        "end_reason",
    )
    list_filter = ("status", "session_type", "end_reason")
    search_fields = ("user__email", "ip_address", "id")
    readonly_fields = [f.name for f in AuthSession._meta.fields]
    actions = ("end_sessions",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="End the selected sessions", permissions=["change"])
    def end_sessions(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda s: sessions.session_revoke(session_id=s.pk, by_admin=True),
            "sessions ended",
        )
