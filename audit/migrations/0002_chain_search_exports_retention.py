# Hash chain, search columns and indexes, exports, retention runs and checkpoints.

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def backfill_chain(apps, schema_editor):
    """Entries stored before the chain existed get their columns and links, oldest first."""
    from audit import chain
    from audit.taxonomy import category_of, severity_of

    AuditEntry = apps.get_model("audit", "AuditEntry")
    heads = {}
    batch = []
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        entry.category = category_of(entry.type)
        entry.severity = severity_of(entry.type)
        user_id = entry.data.get("user_id") if isinstance(entry.data, dict) else None
        entry.user_id = str(user_id or (entry.actor_id if entry.actor_type in ("user", "admin") else ""))
        entry.prev_hash = heads.get(entry.category, chain.GENESIS)
        entry.hash = chain.entry_hash(entry.prev_hash, {f: getattr(entry, f) for f in chain.HASHED_FIELDS})
        heads[entry.category] = entry.hash
        batch.append(entry)
        if len(batch) >= 2000:
            AuditEntry.objects.bulk_update(batch, ["category", "severity", "user_id", "prev_hash", "hash"])
            batch = []
    if batch:
        AuditEntry.objects.bulk_update(batch, ["category", "severity", "user_id", "prev_hash", "hash"])


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="auditentry", name="audit_aggregate_idx"),
        migrations.AlterField(model_name="auditentry", name="type", field=models.CharField(max_length=120)),
        migrations.AlterField(
            model_name="auditentry", name="correlation_id", field=models.CharField(max_length=64)
        ),
        migrations.AddField(
            model_name="auditentry",
            name="user_id",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry", name="severity", field=models.CharField(default="low", max_length=10)
        ),
        migrations.AddField(
            model_name="auditentry", name="category", field=models.CharField(default="other", max_length=20)
        ),
        migrations.AddField(
            model_name="auditentry", name="prev_hash", field=models.CharField(default="", max_length=64)
        ),
        migrations.AddField(
            model_name="auditentry", name="hash", field=models.CharField(default="", max_length=64)
        ),
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "permissions": [
                    ("view_auditlog", "Can search the audit log and verify its chain"),
                    ("export_auditlog", "Can export the audit log"),
                ],
                "verbose_name_plural": "audit entries",
            },
        ),
        migrations.RunPython(backfill_chain, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditentry", index=models.Index(fields=["type", "id"], name="audit_type_idx")
        ),
        migrations.AddIndex(
            model_name="auditentry", index=models.Index(fields=["user_id", "id"], name="audit_user_idx")
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["aggregate_id", "id"], name="audit_aggregate_id_idx"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["correlation_id", "id"], name="audit_correlation_idx"),
        ),
        migrations.AddIndex(
            model_name="auditentry", index=models.Index(fields=["severity", "id"], name="audit_severity_idx")
        ),
        migrations.AddIndex(
            model_name="auditentry", index=models.Index(fields=["category", "id"], name="audit_category_idx")
        ),
        migrations.CreateModel(
            name="AuditExport",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("requested_by", models.UUIDField()),
                ("format", models.CharField(choices=[("jsonl", "JSON lines"), ("csv", "CSV")], max_length=5)),
                ("filters", models.JSONField(default=dict)),
                ("row_count", models.PositiveBigIntegerField(default=0)),
                ("sha256", models.CharField(max_length=64)),
                ("size", models.PositiveBigIntegerField(default=0)),
                ("path", models.CharField(max_length=500)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"ordering": ["-created_at"]},
        ),
        migrations.CreateModel(
            name="AuditRetentionRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")],
                        default="running",
                        max_length=10,
                    ),
                ),
                ("outcome", models.JSONField(default=dict)),
                ("error", models.TextField(blank=True)),
            ],
            options={"ordering": ["-started_at"]},
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("category", models.CharField(max_length=20)),
                ("first_id", models.BigIntegerField()),
                ("last_id", models.BigIntegerField()),
                ("count", models.PositiveBigIntegerField()),
                ("first_prev_hash", models.CharField(max_length=64)),
                ("last_hash", models.CharField(max_length=64)),
                ("archive_path", models.CharField(max_length=500)),
                ("archive_sha256", models.CharField(max_length=64)),
                ("signature", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="checkpoints",
                        to="audit.auditretentionrun",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["category", "last_id"], name="audit_checkpoint_idx")],
            },
        ),
    ]
