# Audit's entries are its record of what it handled (identity_project/eventbus/records.py): the
# pipeline page counts and charts the last hour of them by received_at. A BRIN index serves that
# on PostgreSQL at almost no cost per insert, as received_at grows with the table (taken under
# the chain lock, it never goes backwards); the embedded SQLite's small trail needs none.

from django.db import migrations

CREATE = "CREATE INDEX IF NOT EXISTS audit_received_brin ON audit_auditentry USING brin (received_at)"
DROP = "DROP INDEX IF EXISTS audit_received_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0005_export_status"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
