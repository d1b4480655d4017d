"""Reads of the notification app: a user's in-app notifications and preferences."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from notification.models import MANDATORY_CATEGORIES, Category, Notification, Preference


def notifications_of(*, user_id: uuid.UUID) -> QuerySet[Notification]:
    """Only the user's own, newest first."""
    return Notification.objects.filter(user_id=user_id).order_by("-created_at", "-id")


@dataclass(frozen=True)
class CategoryPreference:
    category: str
    label: str
    email: bool
    in_app: bool
    mandatory: bool


def preferences_of(*, user_id: uuid.UUID) -> list[CategoryPreference]:
    """Every category, with the user's choice or the default (everything on)."""
    chosen = {p.category: p for p in Preference.objects.filter(user_id=user_id)}
    result = []
    for category in Category:
        preference = chosen.get(category.value)
        mandatory = category in MANDATORY_CATEGORIES
        result.append(
            CategoryPreference(
                category=category.value,
                label=str(category.label),
                email=True if mandatory or preference is None else preference.email,
                in_app=True if mandatory or preference is None else preference.in_app,
                mandatory=mandatory,
            )
        )
    return result
