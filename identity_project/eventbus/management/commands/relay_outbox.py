"""Run the outbox relay: sends pending outbox rows to the broker until stopped (SIGTERM)."""

from django.core.management.base import BaseCommand

from identity_project import multiproc
from identity_project.eventbus.relay import Relay


class Command(BaseCommand):
    help = (
        "Send pending outbox events (and enqueued tasks) to the broker, oldest first. Several may run:"
        " one sends, the others stand by to take over."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="send what is pending, then exit (at once if another relay sends)",
        )
        parser.add_argument("--interval", type=float, default=None, help="seconds between polls when idle")

    def handle(self, *args, once: bool, interval: float | None, **options):
        # Its counters (events published, dead letters drained) where GET /metrics reads them.
        multiproc.prepare("relay")
        sent = Relay(interval=interval).run(once=once)
        if once:
            self.stdout.write(f"sent {sent} events")
