"""Password-reset tokens: `<uid>.<token>`, single use because Django's token hashes the password."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from identity.models import User


def make(user: User) -> str:
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"


def user_of(token: str) -> User | None:
    """The active user the token is good for now, or None; call inside a transaction to lock it."""
    uid, _, secret = token.partition(".")
    try:
        user = User.objects.select_for_update().get(pk=force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, ValidationError, User.DoesNotExist):
        # ValidationError: the uid decodes to text that is not a UUID (a forged or mangled link).
        return None
    if not user.is_active or not default_token_generator.check_token(user, secret):
        return None
    return user
