"""The read-only admin of the audit log, its exports, retention runs, checkpoints and heads."""

# It also serves the security view: incidents with the other events of their correlation id.

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from audit.models import AuditChainHead, AuditCheckpoint, AuditEntry, AuditExport, AuditRetentionRun
from audit.selectors import security_incidents
from identity_project.eventbus.admin import SweepRunAdmin
from identity_project.eventbus.catalog import registry


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TypeFilter(admin.SimpleListFilter):
    """The catalog's types, without a SELECT DISTINCT over the whole log."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(t, t) for t in sorted({cls.type for cls in registry.events()})]

    def queryset(self, request, queryset):
        return queryset.filter(type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "occurred_at", "type", "severity", "user", "actor", "correlation", "aggregate_id")
    list_filter = (TypeFilter, "severity", "category", "occurred_at")
    # Exact matches only: each uses its index; `?user_id=` and `?correlation_id=` filter too.
    search_fields = ("=event_id", "=user_id", "=correlation_id", "=aggregate_id")
    show_full_result_count = False
    ordering = ("-id",)

    @admin.display(description="user")
    def user(self, entry: AuditEntry):
        if not entry.user_id:
            return "-"
        return format_html('<a href="?user_id={}">{}</a>', entry.user_id, entry.user_id)

    @admin.display(description="actor")
    def actor(self, entry: AuditEntry) -> str:
        return f"{entry.actor_type} {entry.actor_id}".strip()

    @admin.display(description="correlation id")
    def correlation(self, entry: AuditEntry):
        return format_html('<a href="?correlation_id={}">{}</a>', entry.correlation_id, entry.correlation_id)

    def get_urls(self):
        view = self.admin_site.admin_view(self.security_view)
        return [path("security/", view, name="audit_auditentry_security"), *super().get_urls()]

    def security_view(self, request):
        if not request.user.has_perm("audit.view_auditlog"):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Security incidents",
            "opts": self.model._meta,
            "incidents": security_incidents(limit=100),
            "changelist_url": reverse("admin:audit_auditentry_changelist"),
        }
        return TemplateResponse(request, "admin/audit/security.html", context)


@admin.register(AuditExport)
class AuditExportAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "requested_by", "format", "row_count", "sha256")
    list_filter = ("format", "created_at")


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("category", "first_id", "last_id", "count", "last_hash", "archive_path", "created_at")
    list_filter = ("category",)


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ("category", "last_id", "count", "last_hash", "updated_at")


admin.site.register(AuditRetentionRun, SweepRunAdmin)
