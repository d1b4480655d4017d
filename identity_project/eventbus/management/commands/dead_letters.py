"""List, replay, discard or drain dead letters from the command line."""

from django.core.management.base import BaseCommand, CommandError

from identity_project.eventbus import deadletters
from identity_project.eventbus.models import DeadLetter


class Command(BaseCommand):
    help = "dead_letters list [--consumer C] [--all] | replay ID... | discard ID... | drain"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="pending dead letters, newest first")
        listing.add_argument("--consumer")
        listing.add_argument("--all", action="store_true", help="also replayed and discarded ones")
        for name in ("replay", "discard"):
            action = sub.add_parser(name)
            action.add_argument("ids", nargs="+", type=int)
        sub.add_parser("drain", help="move RabbitMQ's dead-letter queues into the store")

    def handle(self, *args, action: str, **options):
        if action == "list":
            letters = DeadLetter.objects.order_by("-updated_at")
            if not options["all"]:
                letters = letters.filter(status=DeadLetter.Status.PENDING)
            if options["consumer"]:
                letters = letters.filter(consumer=options["consumer"])
            for letter in letters:
                self.stdout.write(
                    f"{letter.pk:>6} {letter.status:<9} {letter.consumer:<13} {letter.event_type:<44} "
                    f"{letter.event_id} attempts={letter.attempts} {letter.reason}: {letter.error[:80]}"
                )
        elif action == "drain":
            self.stdout.write(f"drained {deadletters.drain_dead_letter_queues()} messages")
        else:
            operation = deadletters.replay if action == "replay" else deadletters.discard
            for pk in options["ids"]:
                letter = DeadLetter.objects.filter(pk=pk).first()
                if letter is None:
                    raise CommandError(f"no dead letter {pk}")
                try:
                    operation(letter)
                except deadletters.DeadLetterError as exc:
                    raise CommandError(f"{pk}: {exc}") from exc
                self.stdout.write(f"{action}ed {pk}")
