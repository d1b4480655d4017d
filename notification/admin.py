"""Admin: the rules (editable data) and the deliveries with their status."""

from django.contrib import admin

from identity_project.eventbus.admin import SweepRunAdmin
from notification.models import Delivery, Notification, NotificationRule, Preference, RetentionRun


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "event_type",
        "recipients",
        "email",
        "in_app",
        "lane",
        "category",
        "mandatory",
        "threshold_count",
        "is_active",
    )
    list_filter = ("is_active", "mandatory", "category", "recipients")
    list_editable = ("is_active",)
    search_fields = ("key", "event_type", "template")

    @admin.display(description="lane")
    def lane(self, rule: NotificationRule) -> str:
        """Its event's (notification/events.py), not the rule's to choose."""
        return "urgent" if rule.urgent else "routine"


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: a delivery is a record of what was sent; replay failed ones via dead letters."""

    list_display = (
        "created_at",
        "event_type",
        "channel",
        "address",
        "subject",
        "status",
        "attempts",
        "urgent",
    )
    list_filter = ("status", "channel", "urgent", "category")
    search_fields = ("address", "subject", "event_id", "correlation_id")
    date_hierarchy = "created_at"
    list_select_related = ("rule",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user_id", "category", "title", "read_at")
    list_filter = ("category",)
    search_fields = ("title", "user_id", "event_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user_id", "category", "email", "in_app")
    list_filter = ("category",)


admin.site.register(RetentionRun, SweepRunAdmin)
