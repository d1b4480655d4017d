"""The permissions API.md names, and an administrator role that holds them all.

Seeding is part of the schema's history, not a person's action: it publishes no events."""

from django.db import migrations

PERMISSIONS = {
    "identity.manage_users": "Manage users and their sessions",
    "identity.manage_roles": "Manage roles and their assignments",
    "identity.manage_permissions": "Manage permissions and grants",
    "identity.approve_elevation": "Approve or deny elevation requests",
    "identity.manage_ip_rules": "Manage IP allow and block lists",
    "audit.view_auditlog": "Search and verify the audit log",
    "audit.export_auditlog": "Export the audit log",
    "integration.manage_webhooks": "Manage webhook subscriptions",
    "ops.manage_dead_letters": "Replay and discard dead letters",
    "ops.view_pipeline": "See the event pipeline",
}


def seed(apps, schema_editor):
    Permission = apps.get_model("identity", "Permission")
    Role = apps.get_model("identity", "Role")
    RolePermission = apps.get_model("identity", "RolePermission")
    administrator, _ = Role.objects.get_or_create(
        name="administrator",
        defaults={"description": "Every administrative permission.", "is_privileged": True},
    )
    for codename, name in PERMISSIONS.items():
        permission, _ = Permission.objects.get_or_create(codename=codename, defaults={"name": name})
        RolePermission.objects.get_or_create(role=administrator, permission=permission)


def unseed(apps, schema_editor):
    apps.get_model("identity", "Role").objects.filter(name="administrator").delete()
    apps.get_model("identity", "Permission").objects.filter(codename__in=PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [("identity", "0003_authorization")]

    operations = [migrations.RunPython(seed, unseed)]
