# The runs of identity's retention sweep (identity/retention.py).

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0008_sweep_and_lookup_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='RetentionRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('status', models.CharField(choices=[('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='running', max_length=10)),
                ('outcome', models.JSONField(default=dict)),
                ('error', models.TextField(blank=True)),
            ],
            options={
                'verbose_name': 'retention run',
                'ordering': ['-started_at'],
                'abstract': False,
            },
        ),
    ]
