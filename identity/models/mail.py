"""Identity's own mails (a password-reset link, an e-mail code): what is to be sent, never the secret.

The secret is made in the transaction that records the mail (the device's code) or when it is
sent (the reset link, a stateless token), and read from where it lives at send time: the row
holds whom to write and why, so neither the table nor the admin ever shows a code or a link.
"""

from __future__ import annotations

from django.db import models

from identity_project.eventbus.outbound.records import OutboundAttempt, OutboundRecord


class OutgoingMail(OutboundRecord):
    class Kind(models.TextChoices):
        PASSWORD_RESET = "password_reset", "Password-reset link"
        EMAIL_CODE = "email_code", "E-mail code"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    user_id = models.UUIDField()
    # The django-otp EmailDevice whose current code is sent (an e-mail code).
    device_id = models.PositiveBigIntegerField(null=True, blank=True)
    # The challenge that fails, and the pending session that ends, if the code cannot be sent.
    challenge_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            # The event that decided the mail decides it once: a redelivery sends nothing new.
            models.UniqueConstraint(fields=["event_id", "kind"], name="identity_outgoing_mail_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.user_id}"


class OutgoingMailAttempt(OutboundAttempt):
    record = models.ForeignKey(OutgoingMail, on_delete=models.CASCADE, related_name="attempts_made")
