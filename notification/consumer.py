"""The notification consumer: one handler per event marked N in EVENTS.md; urgent ones on their own lane."""

from __future__ import annotations

from identity.events import (
    ComplianceViolationDetected,
    DeviceRegistered,
    DeviceRevoked,
    MFABackupCodesGenerated,
    MFAChallengeFailed,
    MFADeviceCreated,
    MFADeviceDisabled,
    PasswordChanged,
    PasswordResetRequested,
    PermissionElevationApproved,
    PermissionElevationDenied,
    PermissionElevationRequested,
    RoleAssignedToUser,
    RoleRevokedFromUser,
    SecurityAlertRaised,
    SuspiciousLoginDetected,
    TokenFamilyRevoked,
    UserDeactivated,
    UserLocked,
    UserLoggedIn,
    UserRegistered,
)
from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered
from notification import services

# What each event does (who, which channel, which template, thresholds) is data, the
# NotificationRule rows (seeded from default_rules.py, edited in the admin), so that an admin can
# change it without a deploy; the handlers only say which events arrive, and on which lane.
# Events travel in batches of up to 50 per message (each still applied, retried and dead-lettered
# on its own by the consumer base): one message per sign-in would bound the relay by the broker's
# publish confirms. Urgent types are batched apart, on their own lane.
notification = Consumer(
    "notification", queue=routing.NOTIFICATION, urgent_queue=routing.NOTIFICATION_URGENT, batch_size=50
)


# --- the urgent lane: notification.urgent, its own worker pool in production ------------------


@notification.handles(SuspiciousLoginDetected, urgent=True)
def suspicious_login(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(SecurityAlertRaised, urgent=True)
def security_alert(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(TokenFamilyRevoked, urgent=True)
def token_family_revoked(delivered: Delivered) -> None:
    """Routing is per type, so logouts travel the urgent lane too; only reuse notifies (rule
    condition reason=reuse_detected), and a logout costs one claim and one rule lookup."""
    services.notify(delivered=delivered)


@notification.handles(UserLocked, urgent=True)
def user_locked(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


# --- routine ----------------------------------------------------------------------------------


@notification.handles(UserRegistered)
def user_registered(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(UserLoggedIn)
def user_logged_in(delivered: Delivered) -> None:
    """Once per new IP address of the user (the rule's dedupe field)."""
    services.notify(delivered=delivered)


@notification.handles(UserDeactivated)
def user_deactivated(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(PasswordChanged)
def password_changed(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(PasswordResetRequested)
def password_reset_requested(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(MFAChallengeFailed)
def mfa_challenge_failed(delivered: Delivered) -> None:
    """A threshold rule: one alert per burst, the rest of its window folded into the digest."""
    services.notify(delivered=delivered)


@notification.handles(MFADeviceCreated)
def mfa_device_created(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(MFADeviceDisabled)
def mfa_device_disabled(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(MFABackupCodesGenerated)
def mfa_backup_codes_generated(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(DeviceRegistered)
def device_registered(delivered: Delivered) -> None:
    """Once per device (the rule's dedupe field)."""
    services.notify(delivered=delivered)


@notification.handles(DeviceRevoked)
def device_revoked(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(RoleAssignedToUser)
def role_assigned(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(RoleRevokedFromUser)
def role_revoked(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(PermissionElevationRequested)
def elevation_requested(delivered: Delivered) -> None:
    """To the approvers: holders of identity.approve_elevation, never the requester."""
    services.notify(delivered=delivered)


@notification.handles(PermissionElevationApproved)
def elevation_approved(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(PermissionElevationDenied)
def elevation_denied(delivered: Delivered) -> None:
    services.notify(delivered=delivered)


@notification.handles(ComplianceViolationDetected)
def compliance_violation(delivered: Delivered) -> None:
    services.notify(delivered=delivered)
