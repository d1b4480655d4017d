"""Accounts: registration, profile edits, deactivation and reactivation."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from identity.errors import Conflict, IdentityError, PasswordRejected
from identity.models import User

PROFILE_FIELDS = ("full_name", "email")
ADMIN_FIELDS = ("email", "full_name", "is_staff")
# Staff and superuser status open the Django admin: only a superuser gives or takes them.
SUPERUSER_FIELDS = ("is_staff", "is_superuser")


def password_validate(password: str, *, user: User | None = None, field: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise PasswordRejected(list(exc.messages), field=field) from exc


def user_register(*, email: str, password: str, method: str = "self", full_name: str = "") -> User:
    """Create an account (UserRegistered is published by the model signal, with `method`)."""
    email = User.objects.normalize_email(email).lower()
    password_validate(password, user=User(email=email, full_name=full_name))
    user = User(email=email, full_name=full_name)
    user.registration_method = method
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise Conflict("An account with this e-mail already exists.", code="email_taken") from exc
    return user


def privileged_account_guard(*, user: User, by: User) -> None:
    """A staff or superuser account's credentials (its password, its e-mail, which receives
    resets) are a superuser's to change: otherwise whoever manages users could take it over."""
    if (user.is_staff or user.is_superuser) and not by.is_superuser:
        raise IdentityError(
            "Only a superuser changes the credentials of a staff account.",
            code="superuser_required",
            status_code=403,
        )


@transaction.atomic
def user_update(
    *, user: User, fields: dict, allowed: tuple[str, ...] = PROFILE_FIELDS, by: User | None = None
) -> User:
    """Apply profile edits (UserUpdated comes from the model signal, naming the changed fields).
    A change of staff or superuser status needs `by`, the one making it, to be a superuser."""
    for name in fields:
        if name not in allowed:
            raise ValueError(f"{name} cannot be edited here")
    privileged = [n for n in SUPERUSER_FIELDS if n in fields and fields[n] != getattr(user, n)]
    if privileged and not (by is not None and by.is_superuser):
        raise IdentityError(
            "Only a superuser changes staff or superuser status.", code="superuser_required", status_code=403
        )
    if "email" in fields and fields["email"].lower() != user.email and by is not None:
        privileged_account_guard(user=user, by=by)
    for name, value in fields.items():
        setattr(user, name, value.lower() if name == "email" else value)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise Conflict("An account with this e-mail already exists.", code="email_taken") from exc
    return user


@transaction.atomic
def user_deactivate(*, user: User, reason: str) -> User:
    """Deactivate: the model signal publishes UserDeactivated and ends every session."""
    if not user.is_active:
        raise Conflict("The account is already inactive.", code="already_inactive")
    user.is_active = False
    user.deactivation_reason = reason
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def user_reactivate(*, user: User) -> User:
    if user.is_active:
        raise Conflict("The account is already active.", code="already_active")
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user
