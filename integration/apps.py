"""The integration app: signed webhooks and sync feeds to outside systems."""

from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integration import consumer  # noqa: F401
