"""Identity's tables: users, sessions and refresh tokens, sign-in attempts, and authorisation."""

from identity.models.authorization import (
    ComplianceViolation,
    ElevationRequest,
    Permission,
    PermissionGrant,
    Role,
    RoleAssignment,
    RolePermission,
    SodRule,
)
from identity.models.sessions import AuthSession, LoginAttempt, RefreshToken
from identity.models.users import User, UserManager

__all__ = [
    "AuthSession",
    "ComplianceViolation",
    "ElevationRequest",
    "LoginAttempt",
    "Permission",
    "PermissionGrant",
    "RefreshToken",
    "Role",
    "RoleAssignment",
    "RolePermission",
    "SodRule",
    "User",
    "UserManager",
]
