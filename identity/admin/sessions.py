"""The admin of sessions: listed under their user, ended through the service."""

from django.contrib import admin

from identity.admin.actions import ManageUsersActions, each
from identity.models import AuthSession
from identity.services import sessions


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


@admin.register(AuthSession)
class AuthSessionAdmin(ManageUsersActions, admin.ModelAdmin):
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

    @admin.action(description="End the selected sessions", permissions=["manage_users"])
    def end_sessions(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda s: sessions.session_revoke(session_id=s.pk, by_admin=True),
            "sessions ended",
        )
