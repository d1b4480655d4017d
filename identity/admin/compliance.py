"""The admin of separation-of-duties rules and the violations the compliance checks found."""

from django.contrib import admin

from identity.models import ComplianceViolation, SodRule


@admin.register(SodRule)
class SodRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "role_a", "role_b", "mode")


@admin.register(ComplianceViolation)
class ComplianceViolationAdmin(admin.ModelAdmin):
    list_display = ("rule", "user", "severity", "detected_at", "resolved_at")
    list_filter = ("rule", "severity")
    readonly_fields = ("rule", "user", "key", "details", "severity", "detected_at")
