"""A rule's lane is its event's (notification/events.py): the rule no longer keeps its own."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('notification', '0004_retention_runs_and_indexes'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='notificationrule',
            name='urgent',
        ),
    ]
