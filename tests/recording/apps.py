"""Records envelopes as they are written and the MFA secrets made, in every process of a test run.

Backup codes are made with bulk_create (no signal): the scan looks for their list instead."""

from __future__ import annotations

import base64
import json

from django.apps import AppConfig
from django.db.models.signals import post_save


class RecordingConfig(AppConfig):
    name = "tests.recording"
    label = "recording"

    def ready(self) -> None:
        from django_otp.plugins.otp_email.models import EmailDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from identity_project.eventbus.publisher import written

        written.connect(_envelopes, dispatch_uid="recording-envelopes")
        post_save.connect(_totp_key, sender=TOTPDevice, dispatch_uid="recording-totp")
        post_save.connect(_emailed_code, sender=EmailDevice, dispatch_uid="recording-email-code")


def _envelopes(sender, envelopes: list[dict], **kwargs) -> None:
    from tests.recording.records import record

    for envelope in envelopes:
        record("envelopes", json.dumps(envelope, default=str))


def _secret(value: str) -> None:
    from tests.recording.records import record

    record("secrets", value)


def _totp_key(sender, instance, **kwargs) -> None:
    # the key as stored (hex) and as an authenticator app is given it (base32, in the otpauth URI)
    _secret(instance.key)
    _secret(base64.b32encode(instance.bin_key).decode().rstrip("="))


def _emailed_code(sender, instance, **kwargs) -> None:
    if instance.token:
        _secret(instance.token)
