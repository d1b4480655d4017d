"""The identity event catalog: every event of contract v2 (shared/EVENTS.md), one class each.

An event whose contract changed keeps its older class (`...V1`, at the end of this module) so that
envelopes of that version, still in the outbox, a queue, a dead letter or an export, can be read;
its upcaster turns them into the newest version before any handler sees them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from identity_project.eventbus.catalog import Event, registry

# --- Authentication and user lifecycle (aggregate "user") ---


class UserRegistered(Event, type="identity.user.registered", aggregate="user"):
    """A new account exists: self sign-up, admin creation or import."""

    user_id: UUID
    email: str
    method: Literal["self", "admin", "import"]


class UserUpdated(Event, type="identity.user.updated", aggregate="user"):
    """A profile was edited by the user or an admin."""

    user_id: UUID
    changed_fields: list[str]


Door = Literal["api", "admin_site"]
LoginReason = Literal["bad_password", "unknown_user", "locked", "inactive", "ip_blocked"]


class UserLoggedIn(Event, type="identity.user.logged_in", aggregate="user", version=2):
    """A login completed (after MFA, if any was required), through the API or the admin site."""

    user_id: UUID
    session_id: UUID
    ip_address: str
    user_agent: str
    mfa_used: bool
    device_id: UUID | None = None
    door: Door
    method: Literal["password", "passkey"]


class UserLoginFailed(Event, type="identity.user.login_failed", aggregate="user", version=2):
    """A password step failed (a sign-in or a re-authentication); user_id is None when the e-mail
    matches no account."""

    user_id: UUID | None = None
    email_attempted: str
    ip_address: str
    user_agent: str
    reason: LoginReason
    door: Literal["api", "admin_site", "reauthentication"]


class UserReauthenticated(Event, type="identity.user.reauthenticated", aggregate="user"):
    """A signed-in user proved again who they are, before a sensitive change."""

    user_id: UUID
    session_id: UUID
    method: Literal["password", "totp", "email", "static", "webauthn"]


class SuspiciousLoginDetected(Event, type="identity.suspicious_login.detected", aggregate="user"):
    """The risk assessment at login scored medium or higher."""

    user_id: UUID
    ip_address: str
    risk_level: Literal["low", "medium", "high", "critical"]
    risk_factors: list[str]


class UserLocked(Event, type="identity.user.locked", aggregate="user"):
    """An account was locked (failure threshold, admin, high risk); locked_until None: until unlocked."""

    user_id: UUID
    reason: Literal["too_many_failures", "admin", "suspicious"]
    locked_until: dt.datetime | None = None


class UserUnlocked(Event, type="identity.user.unlocked", aggregate="user"):
    """A lock ended: it lapsed (seen at next attempt or by the sweep), an admin, or a password reset."""

    user_id: UUID
    reason: Literal["expired", "admin", "password_reset"]


class UserDeactivated(Event, type="identity.user.deactivated", aggregate="user"):
    """An account was deactivated by an admin or through the API."""

    user_id: UUID
    reason: str


class UserReactivated(Event, type="identity.user.reactivated", aggregate="user"):
    """A deactivated account was reactivated by an admin or through the API."""

    user_id: UUID


class PasswordChanged(Event, type="identity.password.changed", aggregate="user"):
    """A password was changed or reset; other sessions were invalidated."""

    user_id: UUID
    method: Literal["change", "reset", "admin"]
    sessions_invalidated: int


class PasswordResetRequested(Event, type="identity.password.reset_requested", aggregate="user"):
    """A password reset was asked for a known account."""

    user_id: UUID
    ip_address: str


# --- Sessions and tokens (aggregate "session", tokens under their session) ---


class SessionCreated(Event, type="identity.session.created", aggregate="session", version=2):
    """A login started a session, pending MFA or complete."""

    session_id: UUID
    user_id: UUID
    session_type: Literal["password", "mfa", "refresh", "passkey"]
    requires_mfa: bool
    ip_address: str
    user_agent: str
    expires_at: dt.datetime


class SessionRefreshed(Event, type="identity.session.refreshed", aggregate="session"):
    """The session's refresh token was rotated, extending it."""

    session_id: UUID
    user_id: UUID
    expires_at: dt.datetime


class SessionTerminated(Event, type="identity.session.terminated", aggregate="session"):
    """A session was explicitly ended (logout or revocation)."""

    session_id: UUID
    user_id: UUID
    reason: Literal["logout", "user_revoked", "admin_revoked", "device_revoked"]


class SessionExpired(Event, type="identity.session.expired", aggregate="session"):
    """The periodic sweep found a session past its idle or absolute lifetime."""

    session_id: UUID
    user_id: UUID
    expired_at: dt.datetime


class SessionInvalidated(Event, type="identity.session.invalidated", aggregate="session"):
    """A session was ended for a security reason."""

    session_id: UUID
    user_id: UUID
    reason: Literal[
        "password_changed",
        "user_deactivated",
        "user_locked",
        "token_reuse",
        "mfa_failed",
    ]


class TokenIssued(Event, type="identity.token.issued", aggregate="session"):
    """A token was minted for a session."""

    session_id: UUID
    user_id: UUID
    jti: str
    token_type: Literal["access", "refresh"]
    family_id: UUID
    expires_at: dt.datetime


class TokenRefreshed(Event, type="identity.token.refreshed", aggregate="session"):
    """A refresh token was rotated: the old jti is spent, the new one issued."""

    session_id: UUID
    user_id: UUID
    old_jti: str
    new_jti: str
    family_id: UUID


class TokenRevoked(Event, type="identity.token.revoked", aggregate="session"):
    """A single token was revoked."""

    session_id: UUID
    user_id: UUID
    jti: str
    family_id: UUID
    reason: str


class TokenFamilyRevoked(Event, type="identity.token_family.revoked", aggregate="session"):
    """A whole refresh token family was killed; reuse of a rotated refresh token always does this."""

    session_id: UUID
    user_id: UUID
    family_id: UUID
    reason: Literal["reuse_detected", "logout", "session_ended"]
    tokens_revoked: int


# --- MFA challenges (aggregate "mfa_challenge") and MFA devices (aggregate "user") ---


class MFAChallengeInitiated(
    Event,
    type="identity.mfa_challenge.initiated",
    aggregate="mfa_challenge",
    aggregate_key="challenge_id",
):
    """The password was accepted and MFA is required: a challenge opens."""

    challenge_id: UUID
    user_id: UUID
    session_id: UUID
    available_methods: list[str]
    expires_at: dt.datetime


class MFADeviceSelected(
    Event,
    type="identity.mfa_device.selected",
    aggregate="mfa_challenge",
    aggregate_key="challenge_id",
):
    """The user picked an MFA device for the challenge (or the default one was taken)."""

    challenge_id: UUID
    user_id: UUID
    device_id: str
    method: str


class MFAChallengeIssued(
    Event,
    type="identity.mfa_challenge.issued",
    aggregate="mfa_challenge",
    aggregate_key="challenge_id",
):
    """A code was generated and sent (e-mail) or is now expected (TOTP)."""

    challenge_id: UUID
    user_id: UUID
    session_id: UUID
    method: str
    device_id: str
    issued_at: dt.datetime


class MFAChallengeCompleted(
    Event,
    type="identity.mfa_challenge.completed",
    aggregate="mfa_challenge",
    aggregate_key="challenge_id",
):
    """The challenge's code was accepted."""

    challenge_id: UUID
    user_id: UUID
    session_id: UUID
    method: str
    device_id: str


class MFAChallengeFailed(
    Event,
    type="identity.mfa_challenge.failed",
    aggregate="mfa_challenge",
    aggregate_key="challenge_id",
):
    """An attempt at the challenge failed; the terminal failure ends the pending session."""

    challenge_id: UUID
    user_id: UUID
    session_id: UUID
    attempts: int
    reason: Literal["invalid_code", "expired", "too_many_attempts", "delivery_failed"]


class MFADeviceCreated(Event, type="identity.mfa_device.created", aggregate="user", version=2):
    """An MFA device enrolment started."""

    user_id: UUID
    device_id: str
    method: Literal["totp", "email", "static", "webauthn"]


class MFADeviceVerified(Event, type="identity.mfa_device.verified", aggregate="user"):
    """An MFA device enrolment was confirmed with a good code."""

    user_id: UUID
    device_id: str
    method: str


class MFADeviceDisabled(Event, type="identity.mfa_device.disabled", aggregate="user"):
    """The user or an admin removed an MFA device."""

    user_id: UUID
    device_id: str
    method: str
    reason: str


class MFACodeVerificationFailed(Event, type="identity.mfa_code.verification_failed", aggregate="user"):
    """A wrong MFA code was entered (enrolment, challenge or step-up)."""

    user_id: UUID
    device_id: str
    method: str
    context: Literal["enrolment", "challenge", "step_up"]
    failure_count: int


class MFABackupCodesGenerated(Event, type="identity.mfa_backup_codes.generated", aggregate="user"):
    """Backup codes were generated or regenerated."""

    user_id: UUID
    device_id: str
    count: int


# --- Devices (aggregate "device") ---


class DeviceRegistered(Event, type="identity.device.registered", aggregate="device"):
    """The first login from an unknown device registered it."""

    device_id: UUID
    user_id: UUID
    fingerprint_hash: str
    trusted: bool
    user_agent: str


class DeviceUpdated(Event, type="identity.device.updated", aggregate="device"):
    """A device was renamed or its user agent changed."""

    device_id: UUID
    user_id: UUID
    changed_fields: list[str]


class DeviceTrusted(Event, type="identity.device.trusted", aggregate="device"):
    """A device became trusted ("remember this device" after MFA, or by the user or an admin)."""

    device_id: UUID
    user_id: UUID
    trusted_until: dt.datetime | None = None


class DeviceUntrusted(Event, type="identity.device.untrusted", aggregate="device"):
    """A device lost its trust: by the user, an admin, or because the trust lapsed."""

    device_id: UUID
    user_id: UUID
    reason: str


class DeviceRevoked(Event, type="identity.device.revoked", aggregate="device"):
    """The user or an admin removed a device; its sessions were terminated."""

    device_id: UUID
    user_id: UUID
    reason: str
    sessions_terminated: int


# --- Roles (aggregate "role"; assignments under the role) ---


class RoleCreated(Event, type="identity.role.created", aggregate="role"):
    """A role was created by an admin or through the API."""

    role_id: UUID
    name: str
    parent_id: UUID | None = None


class RoleUpdated(Event, type="identity.role.updated", aggregate="role"):
    """A role was edited by an admin or through the API."""

    role_id: UUID
    changed_fields: list[str]


class RoleDeleted(Event, type="identity.role.deleted", aggregate="role"):
    """A role was deleted by an admin or through the API."""

    role_id: UUID
    name: str


class RoleActivated(Event, type="identity.role.activated", aggregate="role"):
    """A role was activated by an admin or through the API."""

    role_id: UUID


class RoleDeactivated(Event, type="identity.role.deactivated", aggregate="role"):
    """A role was deactivated by an admin or through the API; it grants nothing until reactivated."""

    role_id: UUID


class RoleParentChanged(Event, type="identity.role.parent_changed", aggregate="role"):
    """The role hierarchy was edited: the role has a new parent (cycles are refused)."""

    role_id: UUID
    old_parent_id: UUID | None = None
    new_parent_id: UUID | None = None


class RoleDefaultChanged(Event, type="identity.role.default_changed", aggregate="role"):
    """The role was set or unset as a default role given to new users."""

    role_id: UUID
    is_default: bool


class RoleCloned(Event, type="identity.role.cloned", aggregate="role"):
    """A role was created by cloning another one."""

    role_id: UUID
    source_role_id: UUID


class RoleAssignedToUser(Event, type="identity.role.assigned_to_user", aggregate="role"):
    """A role was assigned to a user: admin, API, or the default role at sign-up."""

    role_id: UUID
    user_id: UUID
    expires_at: dt.datetime | None = None
    assigned_by: UUID | None = None


class RoleAssignmentUpdated(Event, type="identity.role_assignment.updated", aggregate="role"):
    """The expiry of a role assignment changed."""

    role_id: UUID
    user_id: UUID
    old_expires_at: dt.datetime | None = None
    new_expires_at: dt.datetime | None = None


class RoleRevokedFromUser(Event, type="identity.role.revoked_from_user", aggregate="role"):
    """A role was revoked from a user by an admin or through the API."""

    role_id: UUID
    user_id: UUID
    reason: str


class RoleAssignmentExpired(Event, type="identity.role_assignment.expired", aggregate="role"):
    """The periodic sweep found a role assignment past its expiry."""

    role_id: UUID
    user_id: UUID


# --- Permissions (aggregate "permission"; grants under the permission) ---


class PermissionCreated(Event, type="identity.permission.created", aggregate="permission"):
    """A permission was created by an admin or through the API."""

    permission_id: UUID
    codename: str
    name: str


class PermissionUpdated(Event, type="identity.permission.updated", aggregate="permission"):
    """A permission was edited by an admin or through the API."""

    permission_id: UUID
    changed_fields: list[str]


class PermissionDeleted(Event, type="identity.permission.deleted", aggregate="permission"):
    """A permission was deleted by an admin or through the API."""

    permission_id: UUID
    codename: str


class PermissionGrantedToRole(Event, type="identity.permission.granted_to_role", aggregate="permission"):
    """A permission was granted to a role by an admin or through the API."""

    permission_id: UUID
    role_id: UUID


class PermissionRevokedFromRole(Event, type="identity.permission.revoked_from_role", aggregate="permission"):
    """A permission was revoked from a role by an admin or through the API."""

    permission_id: UUID
    role_id: UUID


class PermissionGrantedToUser(Event, type="identity.permission.granted_to_user", aggregate="permission"):
    """A permission was granted directly to a user, or by an approved elevation."""

    permission_id: UUID
    user_id: UUID
    expires_at: dt.datetime | None = None
    granted_by: UUID | None = None


class PermissionGrantUpdated(Event, type="identity.permission_grant.updated", aggregate="permission"):
    """The expiry of a direct permission grant changed."""

    permission_id: UUID
    user_id: UUID
    old_expires_at: dt.datetime | None = None
    new_expires_at: dt.datetime | None = None


class PermissionRevokedFromUser(Event, type="identity.permission.revoked_from_user", aggregate="permission"):
    """A direct permission grant was revoked by an admin or through the API."""

    permission_id: UUID
    user_id: UUID
    reason: str


class PermissionGrantExpired(Event, type="identity.permission_grant.expired", aggregate="permission"):
    """The periodic sweep found a direct permission grant past its expiry."""

    permission_id: UUID
    user_id: UUID


class PermissionCheckDenied(Event, type="identity.permission_check.denied", aggregate="user"):
    """An authorization check refused a request."""

    user_id: UUID
    codename: str
    resource: str
    ip_address: str | None = None


class PermissionElevationRequested(
    Event,
    type="identity.permission_elevation.requested",
    aggregate="permission_elevation",
    aggregate_key="request_id",
):
    """A user asked for a just-in-time permission elevation."""

    request_id: UUID
    user_id: UUID
    permission_id: UUID
    justification: str
    duration_seconds: int


class PermissionElevationApproved(
    Event,
    type="identity.permission_elevation.approved",
    aggregate="permission_elevation",
    aggregate_key="request_id",
):
    """An approver (not the requester) approved an elevation; a time-bound grant follows."""

    request_id: UUID
    user_id: UUID
    permission_id: UUID
    approver_id: UUID
    expires_at: dt.datetime


class PermissionElevationDenied(
    Event,
    type="identity.permission_elevation.denied",
    aggregate="permission_elevation",
    aggregate_key="request_id",
):
    """An approver denied an elevation request."""

    request_id: UUID
    user_id: UUID
    permission_id: UUID
    approver_id: UUID
    reason: str


# --- Security (aggregate "security_alert" or "ip_rule") ---


class SecurityAlertRaised(
    Event,
    type="identity.security_alert.raised",
    aggregate="security_alert",
    aggregate_key="alert_id",
):
    """A security rule fired: suspicious login, token reuse, MFA-failure burst, login from a blocked IP."""

    alert_id: UUID
    user_id: UUID | None = None
    severity: Literal["low", "medium", "high", "critical"]
    category: str
    summary: str
    related_event_id: UUID | None = None


class IPAllowlisted(
    Event,
    type="identity.ip_rule.allowlisted",
    aggregate="ip_rule",
    aggregate_key="rule_id",
):
    """An IP allowlist rule was added."""

    rule_id: UUID
    cidr: str
    scope: Literal["global", "user"]
    user_id: UUID | None = None
    expires_at: dt.datetime | None = None
    reason: str


class IPBlocklisted(
    Event,
    type="identity.ip_rule.blocklisted",
    aggregate="ip_rule",
    aggregate_key="rule_id",
):
    """An IP blocklist rule was added, by an admin or automatically after abuse."""

    rule_id: UUID
    cidr: str
    scope: str
    user_id: UUID | None = None
    expires_at: dt.datetime | None = None
    reason: str


class IPRuleRemoved(Event, type="identity.ip_rule.removed", aggregate="ip_rule", aggregate_key="rule_id"):
    """An IP rule was deleted or expired."""

    rule_id: UUID
    cidr: str
    list: Literal["allow", "block"]


# --- Audit and compliance (emitted by audit and by the compliance checks) ---


class AuditLogCreated(
    Event,
    type="identity.audit_log.created",
    aggregate="audit_export",
    aggregate_key="export_id",
):
    """An audit log export was produced (reading the audit log is itself audited)."""

    export_id: UUID
    requested_by: UUID
    filters: dict[str, Any]
    row_count: int
    sha256: str


class ComplianceViolationDetected(
    Event,
    type="identity.compliance_violation.detected",
    aggregate="compliance_violation",
    aggregate_key="violation_id",
):
    """A compliance rule failed, at assignment time or in the daily check."""

    violation_id: UUID
    rule: Literal["sod_conflict", "privileged_without_mfa", "stale_privileged_account"]
    user_id: UUID | None = None
    details: dict[str, Any]
    severity: Literal["low", "medium", "high", "critical"]


# --- Contract v1 versions of the events v2 changed, and their upcasters -------------------


class UserLoggedInV1(Event, type="identity.user.logged_in", aggregate="user"):
    """A login completed (after MFA, if any was required)."""

    user_id: UUID
    session_id: UUID
    ip_address: str
    user_agent: str
    mfa_used: bool
    device_id: UUID | None = None


class UserLoginFailedV1(Event, type="identity.user.login_failed", aggregate="user"):
    """A password step failed; user_id is None when the e-mail matches no account."""

    user_id: UUID | None = None
    email_attempted: str
    ip_address: str
    user_agent: str
    reason: LoginReason


class SessionCreatedV1(Event, type="identity.session.created", aggregate="session"):
    """A login started a session, pending MFA or complete."""

    session_id: UUID
    user_id: UUID
    session_type: Literal["password", "mfa", "refresh"]
    requires_mfa: bool
    ip_address: str
    user_agent: str
    expires_at: dt.datetime


class MFADeviceCreatedV1(Event, type="identity.mfa_device.created", aggregate="user"):
    """An MFA device enrolment started."""

    user_id: UUID
    device_id: str
    method: Literal["totp", "email", "static"]


@registry.upcaster(UserLoggedIn.type, from_version=1)
def _logged_in_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Before v2 the API was the only door and the password the only method."""
    return {**data, "door": "api", "method": "password"}


@registry.upcaster(UserLoginFailed.type, from_version=1)
def _login_failed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "door": "api"}


@registry.upcaster(SessionCreated.type, from_version=1)
@registry.upcaster(MFADeviceCreated.type, from_version=1)
def _enumeration_widened(data: dict[str, Any]) -> dict[str, Any]:
    """v2 only added a value to an enumeration: v1 data is valid v2 data."""
    return data
