"""The identity app: the producer of every domain event of the catalog."""

from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from identity import consumer, mail, schema, signals  # noqa: F401
        from identity_project.eventbus.outbound import resend

        resend.register(mail.channel)
