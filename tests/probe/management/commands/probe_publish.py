"""Publish probe events, each in its own transaction (used from a subprocess by the tests)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from identity_project.eventbus.publisher import publish
from tests.probe.events import ProbeRequested


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--prefix", required=True)
        parser.add_argument("--action", default="ok")

    def handle(self, *args, count: int, prefix: str, action: str, **options):
        for i in range(count):
            with transaction.atomic():
                publish(ProbeRequested(probe_id=f"{prefix}-{i}", action=action))
        self.stdout.write(f"published {count}")
