"""Create (once) the demo administrator of `make run` and print how to sign in."""

import secrets

from django.core.management.base import BaseCommand

from identity.models import User


class Command(BaseCommand):
    help = "Create the demo administrator if missing; print its credentials."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument("--password-file", required=True, help="where the generated password is kept")

    def handle(self, *args, email: str, password_file: str, **options):
        if User.objects.filter(email=email).exists():
            with open(password_file) as handle:
                password = handle.read().strip()
        else:
            password = secrets.token_urlsafe(12)
            with open(password_file, "w") as handle:
                handle.write(password + "\n")
            User.objects.create_superuser(email, password)
        self.stdout.write(f"demo admin: {email} / {password}")
