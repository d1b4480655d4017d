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
from identity.models.passkeys import WebAuthnCeremony, WebAuthnDevice
from identity.models.security import Device, IPRule, MFAChallenge
from identity.models.sessions import AuthSession, LoginAttempt, RefreshToken
from identity.models.users import User, UserManager

__all__ = [
    "AuthSession",
    "ComplianceViolation",
    "Device",
    "ElevationRequest",
    "IPRule",
    "LoginAttempt",
    "MFAChallenge",
    "Permission",
    "PermissionGrant",
    "RefreshToken",
    "Role",
    "RoleAssignment",
    "RolePermission",
    "SodRule",
    "User",
    "UserManager",
    "WebAuthnCeremony",
    "WebAuthnDevice",
]
