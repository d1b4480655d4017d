"""Security alerts: one SecurityAlertRaised per incident, not one per event that feeds it."""

from __future__ import annotations

import uuid

from django.core.cache import cache

from identity.events import SecurityAlertRaised
from identity_project.eventbus.publisher import publish

INCIDENT_WINDOW = 3600


def security_alert_raise(
    *,
    incident: str,
    severity: str,
    category: str,
    summary: str,
    user_id: uuid.UUID | None = None,
    related_event_id: uuid.UUID | str | None = None,
) -> bool:
    """Raise the alert unless this incident (e.g. "blocked-ip:203.0.113.9") was raised within the
    hour. Returns whether it was raised."""
    if not cache.add(f"security-incident:{incident}", 1, timeout=INCIDENT_WINDOW):
        return False
    publish(
        SecurityAlertRaised(
            alert_id=uuid.uuid4(),
            user_id=user_id,
            severity=severity,
            category=category,
            summary=summary,
            related_event_id=uuid.UUID(str(related_event_id)) if related_event_id else None,
        )
    )
    return True
