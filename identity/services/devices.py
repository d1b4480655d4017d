"""Browsers and apps a user signs in from: recognised by a salted hash, trusted, untrusted, revoked."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from identity.errors import NotFound
from identity.events import DeviceRegistered, DeviceRevoked, DeviceTrusted, DeviceUntrusted, DeviceUpdated
from identity.models import AuthSession, Device, User
from identity.services.sessions import session_end
from identity_project.eventbus.publisher import publish


def fingerprint_hash(raw: str) -> str:
    """The raw fingerprint never leaves this function: a keyed hash (salted with SECRET_KEY)."""
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


def device_seen(*, user: User, raw_fingerprint: str, user_agent: str) -> tuple[Device, bool]:
    """The device of this sign-in, registered on first sight; returns (device, is_new)."""
    digest = fingerprint_hash(raw_fingerprint)
    now = timezone.now()
    device = Device.objects.filter(user=user, fingerprint_hash=digest).first()
    if device is None:
        try:
            with transaction.atomic():
                device = Device.objects.create(user=user, fingerprint_hash=digest, user_agent=user_agent)
        except IntegrityError:
            return Device.objects.get(user=user, fingerprint_hash=digest), False
        publish(
            DeviceRegistered(
                device_id=device.id,
                user_id=user.id,
                fingerprint_hash=digest,
                trusted=False,
                user_agent=user_agent,
            )
        )
        return device, True
    changed = ["user_agent"] if device.user_agent != user_agent else []
    device.user_agent, device.last_seen_at = user_agent, now
    device.save(update_fields=["user_agent", "last_seen_at"])
    if changed:
        publish(DeviceUpdated(device_id=device.id, user_id=user.id, changed_fields=changed))
    return device, False


def _own(user: User, device_id) -> Device:
    device = (
        Device.objects.select_for_update().filter(user=user, pk=device_id, revoked_at__isnull=True).first()
    )
    if device is None:
        raise NotFound("No such device.")
    return device


@transaction.atomic
def device_rename(*, user: User, device_id, name: str) -> Device:
    device = _own(user, device_id)
    if device.name != name:
        device.name = name
        device.save(update_fields=["name"])
        publish(DeviceUpdated(device_id=device.id, user_id=user.id, changed_fields=["name"]))
    return device


def device_trust(*, device: Device, days: int | None = None) -> Device:
    """ "Remember this device": the second factor is skipped there until trusted_until."""
    days = settings.IDENTITY["TRUSTED_DEVICE_DAYS"] if days is None else days
    device.trusted_until = timezone.now() + timedelta(days=days)
    device.save(update_fields=["trusted_until"])
    publish(DeviceTrusted(device_id=device.id, user_id=device.user_id, trusted_until=device.trusted_until))
    return device


@transaction.atomic
def device_trust_own(*, user: User, device_id) -> Device:
    return device_trust(device=_own(user, device_id))


@transaction.atomic
def device_untrust(*, user: User, device_id, reason: str = "user") -> Device:
    device = _own(user, device_id)
    device.trusted_until = None
    device.save(update_fields=["trusted_until"])
    publish(DeviceUntrusted(device_id=device.id, user_id=user.id, reason=reason))
    return device


@transaction.atomic
def device_revoke(*, user: User, device_id, reason: str = "user") -> int:
    """Remove the device; its open sessions end (SessionTerminated reason device_revoked)."""
    device = _own(user, device_id)
    device.revoked_at, device.trusted_until = timezone.now(), None
    device.save(update_fields=["revoked_at", "trusted_until"])
    ended = 0
    for session in AuthSession.objects.select_for_update().filter(device=device).exclude(status="ended"):
        session_end(session=session, reason="device_revoked")
        ended += 1
    publish(DeviceRevoked(device_id=device.id, user_id=user.id, reason=reason, sessions_terminated=ended))
    return ended
