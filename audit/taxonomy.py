"""What an event type means to audit: its retention category and its severity."""

# Categories group types that share a retention period (settings.AUDIT["RETENTION_DAYS"]) and each
# is its own hash chain, so that expiring one category removes a prefix of its chain. Severity is
# derived from the type alone, never from the data, so that it can be indexed and searched:
# - high: an attack or a control failing (suspicious login, security alert, lockout, refresh token
#   family revoked, compliance violation);
# - medium: a failure or a change of who may do what (failed logins and codes, denied checks, IP
#   rules, password and MFA changes, grants, revocations, elevations, audit exports);
# - low: everything else (routine sessions, tokens, profile and catalog edits).

from __future__ import annotations

from typing import Literal

Severity = Literal["low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high")

CATEGORIES = ("security", "authentication", "session", "token", "account", "access", "audit", "other")

# The entity part of the type (identity.<entity>.<action>) decides the category, but for the
# few types named here.
_CATEGORY_BY_TYPE = {
    "identity.user.logged_in": "authentication",
    "identity.user.login_failed": "authentication",
    "identity.user.locked": "security",
    "identity.user.unlocked": "security",
    "identity.token_family.revoked": "security",
    "identity.mfa_code.verification_failed": "authentication",
    "identity.mfa_device.selected": "authentication",
}
# Entity names to categories; bandit takes "token" and "password" keys for passwords.
_CATEGORY_BY_ENTITY = {
    "suspicious_login": "security",
    "security_alert": "security",
    "ip_rule": "security",
    "compliance_violation": "security",
    "permission_check": "security",
    "mfa_challenge": "authentication",
    "session": "session",
    "token": "token",  # nosec B105
    "user": "account",
    "password": "account",  # nosec B105
    "device": "account",
    "mfa_device": "account",
    "mfa_backup_codes": "account",
    "role": "access",
    "role_assignment": "access",
    "permission": "access",
    "permission_grant": "access",
    "permission_elevation": "access",
    "audit_log": "audit",
}

HIGH = frozenset(
    {
        "identity.suspicious_login.detected",
        "identity.security_alert.raised",
        "identity.user.locked",
        "identity.token_family.revoked",
        "identity.compliance_violation.detected",
    }
)
MEDIUM = frozenset(
    {
        "identity.user.login_failed",
        "identity.user.unlocked",
        "identity.user.deactivated",
        "identity.password.changed",
        "identity.password.reset_requested",
        "identity.session.invalidated",
        "identity.mfa_challenge.failed",
        "identity.mfa_code.verification_failed",
        "identity.mfa_device.disabled",
        "identity.mfa_backup_codes.generated",
        "identity.device.revoked",
        "identity.role.assigned_to_user",
        "identity.role.revoked_from_user",
        "identity.role.deleted",
        "identity.permission.granted_to_user",
        "identity.permission.revoked_from_user",
        "identity.permission.granted_to_role",
        "identity.permission.deleted",
        "identity.permission_check.denied",
        "identity.permission_elevation.requested",
        "identity.permission_elevation.approved",
        "identity.permission_elevation.denied",
        "identity.ip_rule.allowlisted",
        "identity.ip_rule.blocklisted",
        "identity.ip_rule.removed",
        "identity.audit_log.created",
    }
)

# The incidents of the security view: type, and the data that must match (token reuse is a
# family revoked for reuse_detected, not one ended by a logout).
INCIDENT_TYPES: dict[str, dict[str, str]] = {
    "identity.suspicious_login.detected": {},
    "identity.security_alert.raised": {},
    "identity.user.locked": {},
    "identity.token_family.revoked": {"reason": "reuse_detected"},
    "identity.compliance_violation.detected": {},
}


def category_of(event_type: str) -> str:
    if event_type in _CATEGORY_BY_TYPE:
        return _CATEGORY_BY_TYPE[event_type]
    parts = event_type.split(".")
    entity = parts[1] if len(parts) == 3 and parts[0] == "identity" else ""
    return _CATEGORY_BY_ENTITY.get(entity, "other")


def severity_of(event_type: str) -> Severity:
    if event_type in HIGH:
        return "high"
    if event_type in MEDIUM:
        return "medium"
    return "low"
