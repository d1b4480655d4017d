"""The Django admin for users and sessions; every action goes through the services (and their events)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from identity.errors import IdentityError
from identity.models import (
    AuthSession,
    ComplianceViolation,
    ElevationRequest,
    Permission,
    PermissionGrant,
    RetentionRun,
    Role,
    RoleAssignment,
    SodRule,
    User,
)
from identity.services import accounts, elevation, grants, lockout, mfa_devices, passwords, roles, sessions
from identity_project.eventbus.admin import SweepRunAdmin


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


class ManageUsersActions:
    """Actions on users and their sessions need our identity.manage_users, not Django's change
    permission: `@admin.action(permissions=["manage_users"])` asks this."""

    def has_manage_users_permission(self, request) -> bool:
        return request.user.has_perm("identity.manage_users")


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
        _each(self, request, queryset, lambda u: lockout.user_lock(user=u, reason="admin"), "locked")

    @admin.action(description="Unlock", permissions=["manage_users"])
    def unlock_users(self, request, queryset):
        _each(self, request, queryset, lambda u: lockout.user_unlock(user=u, reason="admin"), "unlocked")

    @admin.action(description="Deactivate (sessions end)", permissions=["manage_users"])
    def deactivate_users(self, request, queryset):
        _each(
            self, request, queryset, lambda u: accounts.user_deactivate(user=u, reason="admin"), "deactivated"
        )

    @admin.action(description="Reactivate", permissions=["manage_users"])
    def reactivate_users(self, request, queryset):
        _each(self, request, queryset, lambda u: accounts.user_reactivate(user=u), "reactivated")

    @admin.action(description="Reset the second factor (the user enrols again)", permissions=["manage_users"])
    def reset_mfa(self, request, queryset):
        _each(self, request, queryset, lambda u: mfa_devices.mfa_reset(user=u), "reset")


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
        _each(
            self,
            request,
            queryset,
            lambda s: sessions.session_revoke(session_id=s.pk, by_admin=True),
            "sessions ended",
        )


# --- authorisation ----------------------------------------------------------------------------


class RoleAdminForm(forms.ModelForm):
    """The role's permissions as a plain field: the admin saves them through the services."""

    permission_set = forms.ModelMultipleChoiceField(
        queryset=Permission.objects.all(),
        required=False,
        label="Permissions",
        widget=FilteredSelectMultiple("permissions", False),
    )

    class Meta:
        model = Role
        fields = ("name", "description", "parent", "is_active", "is_default", "is_privileged")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["permission_set"].initial = list(self.instance.permissions.all())


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleAdminForm
    list_display = ("name", "parent", "is_active", "is_default", "is_privileged")
    list_filter = ("is_active", "is_default", "is_privileged")
    search_fields = ("name",)
    actions = ("clone_roles",)

    def save_model(self, request, obj, form, change):
        if change:
            roles.role_update(
                role=obj,
                fields={
                    name: form.cleaned_data[name] for name in form.changed_data if name in roles.EDITABLE
                },
            )
        else:
            created = roles.role_create(
                name=obj.name, description=obj.description, parent=obj.parent, is_default=obj.is_default,
                is_privileged=obj.is_privileged,
            )  # fmt: skip
            obj.pk = created.pk
            obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        role = Role.objects.get(pk=form.instance.pk)
        wanted = set(form.cleaned_data["permission_set"])
        held = set(role.permissions.all())
        for permission in wanted - held:
            roles.role_grant_permission(role=role, permission=permission)
        for permission in held - wanted:
            roles.role_revoke_permission(role=role, permission=permission)

    def delete_model(self, request, obj):
        roles.role_delete(role=obj)

    def delete_queryset(self, request, queryset):
        for role in queryset:
            roles.role_delete(role=role)

    @admin.action(description="Clone the selected roles", permissions=["add"])
    def clone_roles(self, request, queryset):
        _each(self, request, queryset, lambda r: roles.role_clone(role=r, name=f"{r.name} (copy)"), "cloned")


class PermissionAdminForm(forms.ModelForm):
    """The fields the services edit; the codename is refused here as they refuse it, so the admin
    shows why."""

    class Meta:
        model = Permission
        fields = grants.EDITABLE

    def clean_codename(self):
        codename = self.cleaned_data["codename"]
        try:
            grants.codename_validate(codename)
        except IdentityError as exc:
            raise forms.ValidationError(exc.fields["codename"]) from exc
        return codename


@admin.register(Permission)
class PermissionAdmin(admin.ModelAdmin):
    form = PermissionAdminForm
    list_display = ("codename", "name")
    search_fields = ("codename", "name")

    def save_model(self, request, obj, form, change):
        if change:
            grants.permission_update(
                permission=obj, fields={n: form.cleaned_data[n] for n in form.changed_data}
            )
        else:
            obj.pk = grants.permission_create(
                codename=obj.codename, name=obj.name, description=obj.description
            ).pk
            obj._state.adding = False

    def delete_model(self, request, obj):
        grants.permission_delete(permission=obj)

    def delete_queryset(self, request, queryset):
        for permission in queryset:
            grants.permission_delete(permission=permission)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    """Only the expiry changes on an existing assignment; a different role is a new assignment."""

    list_display = ("user", "role", "expires_at", "assigned_by", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "role__name")
    autocomplete_fields = ("user",)
    fields = ("user", "role", "expires_at")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "role") if obj else ()

    def save_model(self, request, obj, form, change):
        saved = roles.role_assign(
            user=obj.user, role=obj.role, expires_at=obj.expires_at, assigned_by=request.user
        )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        roles.role_unassign(user=obj.user, role=obj.role)

    def delete_queryset(self, request, queryset):
        for assignment in queryset.select_related("user", "role"):
            roles.role_unassign(user=assignment.user, role=assignment.role)


@admin.register(PermissionGrant)
class PermissionGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "permission", "expires_at", "granted_by", "created_at")
    search_fields = ("user__email", "permission__codename")
    autocomplete_fields = ("user",)
    fields = ("user", "permission", "expires_at")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "permission") if obj else ()

    def save_model(self, request, obj, form, change):
        saved = grants.permission_grant(
            user=obj.user, permission=obj.permission, expires_at=obj.expires_at, granted_by=request.user
        )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        grants.permission_revoke(user=obj.user, permission=obj.permission)

    def delete_queryset(self, request, queryset):
        for grant in queryset.select_related("user", "permission"):
            grants.permission_revoke(user=grant.user, permission=grant.permission)


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
        _each(
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

        _each(self, request, queryset, deny_one, "denied")


@admin.register(SodRule)
class SodRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "role_a", "role_b", "mode")


@admin.register(ComplianceViolation)
class ComplianceViolationAdmin(admin.ModelAdmin):
    list_display = ("rule", "user", "severity", "detected_at", "resolved_at")
    list_filter = ("rule", "severity")
    readonly_fields = ("rule", "user", "key", "details", "severity", "detected_at")


admin.site.register(RetentionRun, SweepRunAdmin)
