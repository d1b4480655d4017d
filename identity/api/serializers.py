"""Serializers and fields shared by identity's endpoints."""

from django.utils import timezone
from rest_framework import serializers

from identity.models import AuthSession, User


class SessionOutputSerializer(serializers.ModelSerializer):
    session_id = serializers.UUIDField(source="id")
    user_id = serializers.UUIDField()
    current = serializers.SerializerMethodField()

    class Meta:
        model = AuthSession
        fields = (
            "session_id", "user_id", "status", "session_type", "mfa_used", "ip_address", "user_agent",
            "created_at", "last_seen_at", "expires_at", "ended_at", "end_reason", "current",
        )  # fmt: skip

    def get_current(self, session: AuthSession) -> bool:
        current = self.context.get("current_session_id")
        return current is not None and session.id == current


class UserOutputSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(source="id")
    locked = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = (
            "user_id", "email", "full_name", "is_active", "is_staff", "date_joined", "last_login",
            "locked", "locked_until", "lock_reason",
        )  # fmt: skip

    def get_locked(self, user: User) -> bool:
        return user.lock_in_force(timezone.now())


def credential_field(**kwargs) -> serializers.DictField:
    """A PublicKeyCredential in its `toJSON()` form (RegistrationResponseJSON or
    AuthenticationResponseJSON); its members are checked by the WebAuthn verification."""
    return serializers.DictField(allow_empty=False, help_text="The PublicKeyCredential's toJSON().", **kwargs)
