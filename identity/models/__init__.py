"""Identity's tables: users, their sessions and refresh tokens, and sign-in attempts."""

from identity.models.sessions import AuthSession, LoginAttempt, RefreshToken
from identity.models.users import User, UserManager

__all__ = ["AuthSession", "LoginAttempt", "RefreshToken", "User", "UserManager"]
