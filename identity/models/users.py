"""Users: e-mail is the login; lock state lives on the user."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # Lockout: locked_at set means locked; locked_until None with locked_at set means until an
    # admin unlocks. lock_count makes each lock longer than the one before.
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    lock_reason = models.CharField(max_length=32, blank=True)
    lock_count = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        # The sweep of lapsed locks reads the few locked users, not every user.
        indexes = [
            models.Index(
                fields=["locked_until"],
                condition=models.Q(locked_at__isnull=False),
                name="user_lapsing_lock_idx",
            )
        ]

    # Fields whose edits publish UserUpdated (password, last_login have events of their own).
    TRACKED_FIELDS = ("email", "full_name", "is_staff", "is_superuser")

    def __str__(self) -> str:
        return self.email

    def lock_in_force(self, now) -> bool:
        """Locked now (a lapsed temporary lock is not; the services publish its end)."""
        return self.locked_at is not None and (self.locked_until is None or self.locked_until > now)
