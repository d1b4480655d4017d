"""Reads of the integration app: which subscriptions want an event, what a delivery sends."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import uuid
from collections.abc import Callable

from django.db.models import QuerySet
from django.utils import timezone

from identity import directory
from identity.events import AuditLogCreated, ComplianceViolationDetected, SecurityAlertRaised
from identity_project.eventbus.catalog import registry
from integration.circuit import CircuitBreaker
from integration.models import WebhookDelivery, WebhookSubscription

# The compliance feed: what a subscription marked SIEM receives whatever its filters say.
SIEM_EVENT_TYPES = frozenset(
    {ComplianceViolationDetected.type, AuditLogCreated.type, SecurityAlertRaised.type}
)


def event_type_matches(patterns: list[str], event_type: str) -> bool:
    """Shell-style patterns: `identity.user.*`, `*`, or an exact type."""
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns)


def patterns_matching_nothing(patterns: list[str]) -> list[str]:
    """The patterns no event of identity's catalog (the registry, at its newest versions) matches."""
    types = [cls.type for cls in registry.events("identity", newest_only=True)]
    return [p for p in patterns if not any(fnmatch.fnmatchcase(t, p) for t in types)]


def subscription_wants(subscription: WebhookSubscription, event_type: str) -> bool:
    if subscription.is_siem and event_type in SIEM_EVENT_TYPES:
        return True
    return event_type_matches(subscription.event_types, event_type)


def active_subscriptions() -> list[WebhookSubscription]:
    return list(WebhookSubscription.objects.filter(is_active=True))


def types_wanted() -> Callable[[str, dt.datetime | None], bool]:
    """Whether an active subscription wants an event type (one query): what the relay sends the
    integration consumer. With a moment of commit, whether one created by then does: what
    committed before every subscription that selects its type was sent to integration only if
    the relay was behind (the trace asks, and shows such an event once integration handled it).
    A subscription counts from its creation, also for types it selected only later."""
    active = active_subscriptions()

    def wants(event_type: str, committed_at: dt.datetime | None = None) -> bool:
        return any(
            committed_at is None or subscription.created_at <= committed_at
            for subscription in subscriptions_for(event_type, active)
        )

    return wants


def subscriptions_for(
    event_type: str, subscriptions: list[WebhookSubscription] | None = None
) -> list[WebhookSubscription]:
    """The active subscriptions (or those of `subscriptions`) that want `event_type`."""
    candidates = active_subscriptions() if subscriptions is None else subscriptions
    return [s for s in candidates if subscription_wants(s, event_type)]


def subscription_list() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.order_by("created_at", "id")


def subscription_get(subscription_id: uuid.UUID) -> WebhookSubscription | None:
    return WebhookSubscription.objects.filter(pk=subscription_id).first()


def subscription_circuit_state(subscription: WebhookSubscription) -> str:
    return CircuitBreaker(subscription.pk).state()


def circuit_states() -> dict[str, str]:
    """Each subscription's circuit (closed, open, half_open), for the ops pipeline view."""
    return {
        str(pk): CircuitBreaker(pk).state() for pk in WebhookSubscription.objects.values_list("pk", flat=True)
    }


def subscription_signing_secrets(subscription: WebhookSubscription) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    secrets_in_use = [subscription.secret]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires and expires > timezone.now():
        secrets_in_use.append(subscription.previous_secret)
    return secrets_in_use


def delivery_list(subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    return subscription.deliveries.order_by("-created_at", "-id").prefetch_related("attempts_made")


def delivery_get(subscription: WebhookSubscription, delivery_id: int) -> WebhookDelivery | None:
    return subscription.deliveries.filter(pk=delivery_id).first()


def delivery_is_stale(delivery: WebhookDelivery) -> bool:
    """A sync feed never goes back in time: an event older (by its aggregate's sequence) than
    one already delivered to this subscription is skipped."""
    if delivery.subscription.payload != WebhookSubscription.Payload.STATE:
        return False
    return WebhookDelivery.objects.filter(
        subscription_id=delivery.subscription_id,
        aggregate_type=delivery.aggregate_type,
        aggregate_id=delivery.aggregate_id,
        status=WebhookDelivery.Status.DELIVERED,
        sequence__gt=delivery.sequence,
    ).exists()


def _user_state(user_id: str | None) -> dict | None:
    contact = directory.contact_of(user_id) if user_id else None
    if contact is None:
        return None
    return {
        "user_id": str(contact.user_id),
        "email": contact.email,
        "full_name": contact.full_name,
        "is_active": contact.is_active,
    }


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The bytes sent and signed: the envelope, and for a sync feed the user's current state
    (read when sending, so a late retry carries the newest state, never an old one)."""
    body = dict(delivery.envelope)
    if delivery.subscription.payload == WebhookSubscription.Payload.STATE:
        body["state"] = {"user": _user_state(body["data"].get("user_id"))}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def siem_summary_body(*, since, until, counts: dict[str, int]) -> bytes:
    body = {
        "type": "integration.siem.daily_summary",
        "period_start": since.isoformat(),
        "period_end": until.isoformat(),
        "counts": {t: counts.get(t, 0) for t in sorted(SIEM_EVENT_TYPES)},
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
