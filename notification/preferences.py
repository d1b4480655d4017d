"""A user's notification preferences, per category; mandatory security alerts stay on."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from notification.models import MANDATORY_CATEGORIES, Preference


class NotificationError(Exception):
    """A request the notification services refuse; the API maps it to its error shape."""

    code = "notification_error"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class MandatoryCategory(NotificationError):
    code = "mandatory_category"


def preferences_update(*, user_id: uuid.UUID, preferences: list[dict[str, Any]]) -> None:
    """Set the user's per-category choices; a mandatory category cannot be turned off."""
    refused = [
        p["category"]
        for p in preferences
        if p["category"] in MANDATORY_CATEGORIES and not (p.get("email", True) and p.get("in_app", True))
    ]
    if refused:
        raise MandatoryCategory(
            "Mandatory security alerts cannot be turned off.",
            fields={"preferences": [f"{c} is mandatory and cannot be turned off" for c in refused]},
        )
    with transaction.atomic():
        for p in preferences:
            Preference.objects.update_or_create(
                user_id=user_id,
                category=p["category"],
                defaults={"email": p.get("email", True), "in_app": p.get("in_app", True)},
            )
