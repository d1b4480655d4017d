"""The integration app: signed webhooks and sync feeds to outside systems."""

from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from identity_project.eventbus.outbound import resend
        from identity_project.scrape import register_circuits
        from integration import consumer, selectors  # noqa: F401
        from integration.services.channel import webhook
        from operations.pipeline import register_section

        resend.register(webhook)

        register_section("circuits", selectors.circuit_states)
        register_circuits(selectors.circuit_states)
