"""Subscriptions: create, change, delete, rotate the secret, disable, replay."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration import selectors, signing
from integration.models import WebhookSubscription
from integration.services.resume import subscription_resume_schedule
from integration.targets import TargetRefused, target_check

log = structlog.get_logger(__name__)


class SubscriptionInvalid(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("the subscription is not valid")
        self.fields = fields


def subscription_validate(*, url: str | None, event_types: list[str] | None) -> None:
    fields: dict[str, list[str]] = {}
    if url is not None:
        try:
            target_check(url)
        except TargetRefused as exc:
            fields["url"] = [str(exc)]
    if event_types is not None and (unknown := selectors.patterns_matching_nothing(event_types)):
        fields["event_types"] = [f"matches no event of the catalog: {p}" for p in unknown]
    if fields:
        raise SubscriptionInvalid(fields)


@transaction.atomic
def subscription_create(
    *, url: str, event_types: list[str], is_siem: bool = False, payload: str = "event", is_active: bool = True
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret, which is shown this once."""
    subscription_validate(url=url, event_types=event_types)
    secret = signing.secret_generate()
    subscription = WebhookSubscription.objects.create(
        url=url, event_types=event_types, is_siem=is_siem, payload=payload, is_active=is_active, secret=secret
    )
    log.info("integration.subscription_created", subscription_id=str(subscription.pk))
    return subscription, secret


@transaction.atomic
def subscription_update(*, subscription: WebhookSubscription, **changes) -> WebhookSubscription:
    """Change url, event_types, is_siem, payload or is_active. Reactivating resumes the deliveries
    that waited while it was off, in order."""
    subscription_validate(url=changes.get("url"), event_types=changes.get("event_types"))
    reactivated = changes.get("is_active") is True and not subscription.is_active
    for name, value in changes.items():
        setattr(subscription, name, value)
    if reactivated:
        subscription.disabled_reason = ""
        subscription.failing_since = None
        transaction.on_commit(
            partial(subscription_resume_schedule, subscription.pk, 0.0, force=True), robust=True
        )
    subscription.updated_at = timezone.now()
    subscription.save()
    return subscription


def subscription_delete(*, subscription: WebhookSubscription) -> None:
    subscription.delete()


@transaction.atomic
def subscription_rotate_secret(*, subscription: WebhookSubscription) -> str:
    """A new secret; the old one keeps signing beside it for the grace period."""
    secret = signing.secret_generate()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = timezone.now() + dt.timedelta(
        hours=settings.WEBHOOK_SECRET_GRACE_HOURS
    )
    subscription.secret = secret
    subscription.updated_at = timezone.now()
    subscription.save()
    log.info("integration.secret_rotated", subscription_id=str(subscription.pk))
    return secret


def subscription_disable(*, subscription_id: uuid.UUID, reason: str) -> bool:
    """Switch it off; the one alert is this log line (never an event, which the failing endpoint
    might be subscribed to). True when this call disabled it."""
    disabled = WebhookSubscription.objects.filter(pk=subscription_id, is_active=True).update(
        is_active=False, disabled_reason=reason[:200], updated_at=timezone.now()
    )
    if disabled:
        log.error(
            "integration.subscription_disabled",
            alert=True,
            subscription_id=str(subscription_id),
            reason=reason,
        )
    return bool(disabled)
