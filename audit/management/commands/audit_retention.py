"""manage.py audit_retention: run the daily retention now (archive, remove, checkpoint)."""

import json

from django.core.management.base import BaseCommand, CommandError

from audit.models import AuditRetentionRun
from audit.services.retention import retention_apply


class Command(BaseCommand):
    help = "Archive and remove the audit entries past their category's retention."

    def handle(self, *args, **options):
        run = retention_apply()
        self.stdout.write(json.dumps({"run": run.pk, "status": run.status, "outcome": run.outcome}))
        if run.status != AuditRetentionRun.Status.SUCCEEDED:
            raise CommandError(run.error)
