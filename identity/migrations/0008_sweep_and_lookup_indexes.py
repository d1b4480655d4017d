# The indexes retention, the expiry sweeps and the sign-in's lookups read.
# On PostgreSQL, a GiST index on the rules' networks (cidr::inet, inet_ops) answers "which rules
# contain this address" (identity/services/ip_rules.py); SQLite has no such operator: the service
# matches there in Python.

from django.db import migrations, models

CREATE_GIST = "CREATE INDEX ip_rule_network_gist_idx ON identity_iprule USING gist ((cidr::inet) inet_ops)"
DROP_GIST = "DROP INDEX IF EXISTS ip_rule_network_gist_idx"


def create_gist(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_GIST, params=None)


def drop_gist(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_GIST, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0007_outgoing_mail'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='authsession',
            name='session_active_expiry_idx',
        ),
        migrations.AddIndex(
            model_name='authsession',
            index=models.Index(condition=models.Q(('status', 'ended'), _negated=True), fields=['expires_at'], name='session_open_expiry_idx'),
        ),
        migrations.AddIndex(
            model_name='authsession',
            index=models.Index(condition=models.Q(('status', 'ended'), _negated=True), fields=['last_seen_at'], name='session_open_idle_idx'),
        ),
        migrations.AddIndex(
            model_name='authsession',
            index=models.Index(condition=models.Q(('status', 'ended')), fields=['ended_at'], name='session_ended_idx'),
        ),
        migrations.AddIndex(
            model_name='iprule',
            index=models.Index(fields=['cidr'], name='ip_rule_cidr_idx'),
        ),
        migrations.AddIndex(
            model_name='iprule',
            index=models.Index(condition=models.Q(('expires_at__isnull', False)), fields=['expires_at'], name='ip_rule_expiry_idx'),
        ),
        migrations.AddIndex(
            model_name='loginattempt',
            index=models.Index(fields=['at'], name='attempt_at_idx'),
        ),
        migrations.AddIndex(
            model_name='loginattempt',
            index=models.Index(condition=models.Q(('succeeded', True)), fields=['user', 'at'], name='attempt_user_success_idx'),
        ),
        migrations.AddIndex(
            model_name='mfachallenge',
            index=models.Index(fields=['created_at'], name='mfa_challenge_created_idx'),
        ),
        migrations.AddIndex(
            model_name='refreshtoken',
            index=models.Index(fields=['expires_at'], name='refresh_expiry_idx'),
        ),
        migrations.AddIndex(
            model_name='user',
            index=models.Index(condition=models.Q(('locked_at__isnull', False)), fields=['locked_until'], name='user_lapsing_lock_idx'),
        ),
        migrations.RunPython(create_gist, drop_gist),
    ]
