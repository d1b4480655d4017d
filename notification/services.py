"""Applying notification rules to an event: who is told, on which channel, with which message,
within thresholds, dedupe and rate limits. Digests (digests.py) send what was folded here."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from identity.directory import Contact, contact_of, contacts_of, contacts_with_permission
from identity_project.eventbus.applying import message_events, once_per_message
from identity_project.eventbus.envelope import Delivered
from identity_project.eventbus.outbound import sender
from notification import channels
from notification.digests import DIGEST_EVENT_TYPE
from notification.models import (
    MANDATORY_CATEGORIES,
    DedupeMark,
    Delivery,
    Gate,
    Notification,
    NotificationRule,
    Preference,
    ThresholdHit,
)
from notification.rendering import render


def notify(*, delivered: Delivered) -> None:
    """Apply every active rule of the event's type, in the consumer's transaction.

    Each (recipient, channel) becomes one Delivery row (unique per event); e-mails are sent
    after commit, in this worker (the outbound sender). A threshold rule below its
    count records nothing, and after its alert folds further events of its window into the
    digest; a dedupe rule notifies once per value; a non-urgent e-mail past the hourly rate
    limit of its recipient and category is folded into the digest."""
    data = delivered.envelope["data"]
    to_send = False
    for rule in _active_rules(delivered.event_class.type):
        if any(data.get(field) != value for field, value in rule.conditions.items()):
            continue
        folded, count = False, 1
        if rule.threshold_count > 1:
            decision, count = _threshold(rule, delivered)
            if decision == "below":
                continue
            folded = decision == "fold"
        for contact in _recipients(rule, data):
            if rule.dedupe_field and not _first_time(rule, contact, data.get(rule.dedupe_field)):
                continue
            to_send |= _record(rule, delivered, contact, folded=folded, count=count)
    if to_send:
        sender.send_after_commit(channels.email, event_id=delivered.event_id)


def _active_rules(event_type: str) -> list[NotificationRule]:
    """Read once per consumed message: its fifty events would each read the same rows."""
    return once_per_message(
        ("notification.rules", event_type),
        lambda: list(NotificationRule.objects.filter(event_type=event_type, is_active=True)),
    )


def _recipients(rule: NotificationRule, data: dict[str, Any]) -> list[Contact]:
    if rule.recipients == NotificationRule.Recipients.USER:
        contact = _contact(data["user_id"]) if data.get("user_id") else None
        return [contact] if contact else []
    holders = once_per_message(
        ("notification.holders", rule.permission), lambda: contacts_with_permission(rule.permission)
    )
    if rule.recipients == NotificationRule.Recipients.APPROVERS:
        return [c for c in holders if str(c.user_id) != str(data.get("user_id"))]
    return holders


def _contact(user_id: str) -> Contact | None:
    """The user an event names, read with the users of the message's other events in one query
    (once per message): a user lookup per event was most of what a sign-in cost this consumer."""
    contacts = once_per_message(("notification.contacts",), _message_contacts)
    key = uuid.UUID(str(user_id))
    return contacts[key] if key in contacts else contact_of(key)


def _message_contacts() -> dict[uuid.UUID, Contact | None]:
    user_ids = {d.envelope["data"].get("user_id") for d in message_events()}
    return contacts_of(uuid.UUID(str(user_id)) for user_id in user_ids if user_id)


def _gate(key: str) -> Gate:
    """The row that serialises decisions on `key` across workers, locked until commit. Read
    with its lock from the start, so a gate that retention removes meanwhile is made again
    rather than missed."""
    return Gate.objects.select_for_update().get_or_create(key=key)[0]


def _threshold(rule: NotificationRule, delivered: Delivered) -> tuple[str, int]:
    """Decide on one counted event, with the count of the user's events in the window:
    below the count, nothing; the count reached, one alert; an alert already sent within the
    window, the event is folded into the digest. Times are the events' own, so a backlog
    delivered late, or out of order, decides as it would have at once."""
    subject = delivered.envelope["data"].get("user_id") or delivered.envelope["aggregate_id"]
    occurred_at = delivered.occurred_at
    window = dt.timedelta(seconds=rule.threshold_window_seconds)
    gate = _gate(f"threshold:{rule.pk}:{subject}")
    ThresholdHit.objects.get_or_create(
        rule=rule, event_id=delivered.event_id, defaults={"subject_id": subject, "occurred_at": occurred_at}
    )
    count = ThresholdHit.objects.filter(
        rule=rule, subject_id=subject, occurred_at__gt=occurred_at - window, occurred_at__lte=occurred_at
    ).count()
    if count < rule.threshold_count:
        return "below", count
    if gate.last_alert_at and occurred_at - window < gate.last_alert_at <= occurred_at + window:
        return "fold", count
    gate.last_alert_at = occurred_at
    gate.save(update_fields=["last_alert_at"])
    return "alert", count


def _first_time(rule: NotificationRule, contact: Contact, value: Any) -> bool:
    if value in (None, ""):
        return True
    _, created = DedupeMark.objects.get_or_create(
        rule=rule, recipient_id=contact.user_id, value=str(value)[:255]
    )
    return created


def _wants(rule: NotificationRule, contact: Contact, channel: str) -> bool:
    if rule.mandatory or rule.category in MANDATORY_CATEGORIES:
        return True
    preference = Preference.objects.filter(user_id=contact.user_id, category=rule.category).first()
    return preference is None or getattr(preference, channel)


def _over_rate_limit(rule: NotificationRule, contact: Contact) -> bool:
    """At most RATE_LIMIT_PER_HOUR e-mails per recipient and category; urgent rules are exempt."""
    if rule.urgent:
        return False
    _gate(f"rate:{contact.user_id}:{rule.category}")
    recent = (
        Delivery.objects.filter(
            recipient_id=contact.user_id,
            category=rule.category,
            channel=Delivery.Channel.EMAIL,
            created_at__gte=timezone.now() - dt.timedelta(hours=1),
        )
        .exclude(status__in=[Delivery.Status.FOLDED, Delivery.Status.DIGESTED])
        .exclude(event_type=DIGEST_EVENT_TYPE)
        .count()
    )
    return recent >= settings.NOTIFICATION["RATE_LIMIT_PER_HOUR"]


def _record(
    rule: NotificationRule, delivered: Delivered, contact: Contact, *, folded: bool, count: int
) -> bool:
    """Record the in-app notification and the e-mail; True when an e-mail waits to be sent."""
    message = render(
        rule.template,
        {
            "event": delivered.event,
            "data": delivered.envelope["data"],
            "occurred_at": delivered.occurred_at,
            "contact": contact,
            "count": count,
            "window_minutes": rule.threshold_window_seconds // 60,
        },
    )
    common = {
        "event_id": delivered.event_id,
        "event_type": delivered.event.type,
        "correlation_id": delivered.correlation_id,
        "rule": rule,
        "recipient_id": contact.user_id,
        "category": rule.category,
        "urgent": rule.urgent,
        "subject": message.subject,
    }
    # An event a threshold folds is told by the digest; in-app it would be the same flood.
    if rule.in_app and not folded and _wants(rule, contact, "in_app"):
        Notification.objects.bulk_create(
            [
                Notification(
                    user_id=contact.user_id,
                    event_id=delivered.event_id,
                    event_type=delivered.event.type,
                    category=rule.category,
                    title=message.subject,
                    body=message.text,
                )
            ],
            ignore_conflicts=True,
        )
        Delivery.objects.bulk_create(
            [
                Delivery(
                    **common,
                    channel=Delivery.Channel.IN_APP,
                    body_text=message.text,
                    status=Delivery.Status.SENT,
                    sent_at=timezone.now(),
                )
            ],
            ignore_conflicts=True,
        )
    if not (rule.email and contact.email and _wants(rule, contact, "email")):
        return False
    folded = folded or _over_rate_limit(rule, contact)
    Delivery.objects.bulk_create(
        [
            Delivery(
                **common,
                channel=Delivery.Channel.EMAIL,
                address=contact.email,
                body_text=message.text,
                body_html=message.html,
                status=Delivery.Status.FOLDED if folded else Delivery.Status.PENDING,
                envelope=delivered.envelope,
            )
        ],
        ignore_conflicts=True,
    )
    return not folded


def threshold_hits_purge() -> int:
    """Counted events older than every rule's window (and a day) are of no more use."""
    longest = max(NotificationRule.objects.values_list("threshold_window_seconds", flat=True), default=0)
    keep = max(dt.timedelta(days=1), dt.timedelta(seconds=longest))
    deleted, _ = ThresholdHit.objects.filter(occurred_at__lt=timezone.now() - keep).delete()
    return deleted
