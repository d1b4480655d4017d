"""The default rules: every event marked N in ../shared/EVENTS.md notifies someone."""

from django.db import migrations

from notification import default_rules


def create_rules(apps, schema_editor):
    default_rules.install(apps.get_model("notification", "NotificationRule"))


def delete_rules(apps, schema_editor):
    keys = [rule["key"] for rule in default_rules.RULES]
    apps.get_model("notification", "NotificationRule").objects.filter(key__in=keys).delete()


class Migration(migrations.Migration):
    dependencies = [("notification", "0001_initial")]

    operations = [migrations.RunPython(create_rules, delete_rules)]
