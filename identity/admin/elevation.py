"""The admin of elevation requests: approved or denied through the service."""

from django.contrib import admin

from identity.admin.actions import each
from identity.models import ElevationRequest
from identity.services import elevation


@admin.register(ElevationRequest)
class ElevationRequestAdmin(admin.ModelAdmin):
    list_display = ("user", "permission", "duration_seconds", "status", "decided_by", "created_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in ElevationRequest._meta.fields]
    actions = ("approve", "deny")

    def has_add_permission(self, request):
        return False

    def has_approve_elevation_permission(self, request) -> bool:
        return request.user.has_perm("identity.approve_elevation")

    @admin.action(description="Approve the selected requests", permissions=["approve_elevation"])
    def approve(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda r: elevation.elevation_approve(request_id=r.pk, approver=request.user),
            "approved",
        )

    @admin.action(description="Deny the selected requests", permissions=["approve_elevation"])
    def deny(self, request, queryset):
        def deny_one(elevation_request):
            elevation.elevation_deny(
                request_id=elevation_request.pk, approver=request.user, reason="denied in the admin"
            )

        each(self, request, queryset, deny_one, "denied")
