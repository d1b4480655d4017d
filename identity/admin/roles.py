"""The admin of roles and of their assignments to users, saved through the services."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple

from identity.admin.actions import each
from identity.models import Permission, Role, RoleAssignment
from identity.services import roles


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
        each(self, request, queryset, lambda r: roles.role_clone(role=r, name=f"{r.name} (copy)"), "cloned")


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
