"""The outbox keeps only what waits to be sent: rows already sent go now (the relay would send
them again otherwise), and the relay deletes each row once it is sent from here on."""

from django.db import migrations


def forget_sent_rows(apps, schema_editor):
    apps.get_model("eventbus", "OutboxEvent").objects.filter(dispatched_at__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("eventbus", "0003_drop_unused_outbox_aggregate_index"),
    ]

    operations = [
        migrations.RunPython(forget_sent_rows, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="outboxevent",
            name="outbox_pending_idx",
        ),
        migrations.RemoveField(
            model_name="outboxevent",
            name="dispatched_at",
        ),
    ]
