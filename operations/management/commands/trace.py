"""Print the whole story of one request: each event, each consumer, each attempt, each outcome."""

from django.core.management.base import BaseCommand, CommandError

from operations.pipeline import story


class Command(BaseCommand):
    help = "trace <correlation_id>: every event of one request and what each consumer did with it"

    def add_arguments(self, parser):
        parser.add_argument("correlation_id")

    def handle(self, *args, correlation_id: str, **options):
        told = story(correlation_id)
        if not told:
            raise CommandError(f"no event has the correlation id {correlation_id}")
        for item in told:
            event = item["event"]
            kept = f"kept at {event.kept_at.isoformat()}" if event.kept_at else "waiting in the outbox"
            self.stdout.write(
                f"{event.occurred_at.isoformat()} {event.type} #{event.sequence} of {event.aggregate_type} "
                f"{event.aggregate_id} [{event.event_id}] {kept}"
            )
            for outcome in item["outcomes"]:
                when = f" at {outcome['handled_at'].isoformat()}" if outcome["handled_at"] else ""
                self.stdout.write(f"    {outcome['consumer']:<13} {outcome['outcome']}{when}")
                for attempt in outcome["failed_attempts"]:
                    self.stdout.write(f"        {attempt}")
