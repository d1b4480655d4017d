"""The admin of permissions and of their direct grants to users, saved through the services."""

from django import forms
from django.contrib import admin

from identity.errors import IdentityError
from identity.models import Permission, PermissionGrant
from identity.services import grants


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
