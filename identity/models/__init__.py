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
from identity.models.mail import OutgoingMail, OutgoingMailAttempt
from identity.models.passkeys import WebAuthnCeremony, WebAuthnDevice
from identity.models.retention import RetentionRun
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
    "OutgoingMail",
    "OutgoingMailAttempt",
    "Permission",
    "PermissionGrant",
    "RefreshToken",
    "RetentionRun",
    "Role",
    "RoleAssignment",
    "RolePermission",
    "SodRule",
    "User",
    "UserManager",
    "WebAuthnCeremony",
    "WebAuthnDevice",
]
