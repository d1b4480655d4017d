"""Digests: each recipient's folded e-mails (a threshold's window, a rate limit) sent as one."""

from __future__ import annotations

import uuid
from collections import Counter

from django.db import transaction

from identity.directory import contact_of
from identity_project.eventbus.outbound import sender
from notification import channels
from notification.models import Delivery
from notification.rendering import render

DIGEST_EVENT_TYPE = "notification.digest"


def digests_send() -> int:
    """Fold each recipient's folded e-mails into one digest e-mail, sent after commit.
    Returns the number of digests. Rows locked by a concurrent run are left to it."""
    made = 0
    with transaction.atomic():
        folded = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.FOLDED, channel=Delivery.Channel.EMAIL)
            .order_by("recipient_id", "created_at")
        )
        by_recipient: dict[uuid.UUID, list[Delivery]] = {}
        for delivery in folded:
            by_recipient.setdefault(delivery.recipient_id, []).append(delivery)
        for recipient_id, items in by_recipient.items():
            digest = _digest(recipient_id, items)
            Delivery.objects.filter(pk__in=[d.pk for d in items]).update(
                status=Delivery.Status.DIGESTED, digest=digest
            )
            sender.send_after_commit(channels.email, event_id=digest.event_id)
            made += 1
    return made


def _digest(recipient_id: uuid.UUID, items: list[Delivery]) -> Delivery:
    counts = Counter(d.subject for d in items)
    message = render(
        "digest",
        {
            "total": len(items),
            "lines": sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
            "contact": contact_of(recipient_id),
            "first": items[0].created_at,
            "last": items[-1].created_at,
        },
    )
    return Delivery.objects.create(
        event_id=uuid.uuid4(),
        event_type=DIGEST_EVENT_TYPE,
        recipient_id=recipient_id,
        address=items[-1].address,
        channel=Delivery.Channel.EMAIL,
        category=items[0].category,
        subject=message.subject,
        body_text=message.text,
        body_html=message.html,
    )
