"""manage.py audit_verify [--from-id N] [--to-id M]: walk the hash chains; exit 1 if one is broken."""

import json

from django.core.management.base import BaseCommand, CommandError

from audit.selectors import chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chains (all, or the entries between two ids)."

    def add_arguments(self, parser):
        parser.add_argument("--from-id", type=int, default=None)
        parser.add_argument("--to-id", type=int, default=None)

    def handle(self, *args, from_id, to_id, **options):
        result = chain_verify(first_id=from_id, last_id=to_id)
        report = {"ok": result.ok, "checked": result.checked, "first_bad_id": result.first_bad_id}
        self.stdout.write(json.dumps({**report, "problems": result.problems}))
        if not result.ok:
            raise CommandError(f"the audit chain is broken (first bad entry: {result.first_bad_id})")
