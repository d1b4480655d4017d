"""The directory: identity's published read interface for consumers that must reach people.

Consumers never import identity's models or services (DESIGN.md); a notification still needs an
address to write to, and events carry ids, not the current e-mail of a user (which may change
after the event). This module is the one narrow, read-only door: plain data, no model instances.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from identity.backends import users_holding
from identity.models import User


@dataclass(frozen=True)
class Contact:
    user_id: uuid.UUID
    email: str
    full_name: str
    is_active: bool


def _contact(user: User) -> Contact:
    return Contact(user_id=user.id, email=user.email, full_name=user.full_name, is_active=user.is_active)


def contact_of(user_id: uuid.UUID | str) -> Contact | None:
    """The person behind `user_id`, or None when the account is gone."""
    user = User.objects.filter(pk=user_id).first()
    return _contact(user) if user else None


def contacts_of(user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Contact | None]:
    """The people behind `user_ids`, in one query: each id maps to its Contact, or to None when
    the account is gone."""
    wanted = set(user_ids)
    found = {user.id: _contact(user) for user in User.objects.filter(pk__in=wanted)}
    return {user_id: found.get(user_id) for user_id in wanted}


def contacts_with_permission(codename: str) -> list[Contact]:
    """Active people who hold `codename` (e.g. "identity.approve_elevation"), for alerts to admins:
    those `has_perm` answers yes for, found in a fixed number of queries (backends.users_holding)."""
    return [_contact(u) for u in users_holding(codename).order_by("email")]
