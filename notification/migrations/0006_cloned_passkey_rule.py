"""The rule that tells a user their passkey may have been cloned (issue #20), added on its own:
the other rules, and what admins edited in them, stay as they are."""

from django.db import migrations

RULE = {
    "key": "cloned-passkey",
    "event_type": "identity.security_alert.raised",
    "category": "security_alerts",
    "template": "cloned_passkey",
    "recipients": "user",
    "permission": "",
    "email": True,
    "in_app": True,
    "mandatory": True,
    "conditions": {"category": "cloned_authenticator"},
}


def add_rule(apps, schema_editor):
    rule_model = apps.get_model("notification", "NotificationRule")
    rule_model.objects.get_or_create(key=RULE["key"], defaults={k: v for k, v in RULE.items() if k != "key"})


def remove_rule(apps, schema_editor):
    apps.get_model("notification", "NotificationRule").objects.filter(key=RULE["key"]).delete()


class Migration(migrations.Migration):
    dependencies = [("notification", "0005_rule_lane_is_its_events")]

    operations = [migrations.RunPython(add_rule, remove_rule)]
