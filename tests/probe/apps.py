"""A test-only consumer whose handler does what the event asks: succeed, fail, or kill its worker."""

from django.apps import AppConfig


class ProbeConfig(AppConfig):
    name = "tests.probe"
    label = "probe"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from identity_project.eventbus.outbound import resend
        from tests.probe import consumer, outbound  # noqa: F401

        resend.register(outbound.pager)
