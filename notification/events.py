"""The events notification takes and the lane each travels: the one place either is said.

What each event then does (who, which channel, which template, thresholds) is data, the
NotificationRule rows, edited in the admin; a rule may name only an event of this table.

The lane is the event type's, not a rule's: the relay routes an event before any rule is read,
and the urgent lane has its own worker pool, so it is the deployment's, changed with the code.
The sends a rule makes for an urgent event take the urgent lane too, retries included, and are
not rate limited (NotificationRule.urgent reads this table).
"""

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
from identity_project.eventbus.catalog import Event

URGENT, ROUTINE = "urgent", "routine"

# Every event marked N in ../shared/EVENTS.md, and its lane.
LANES: dict[type[Event], str] = {
    SuspiciousLoginDetected: URGENT,
    SecurityAlertRaised: URGENT,
    # Routing is per type, so logouts travel the urgent lane too; only reuse notifies (the rule's
    # condition reason=reuse_detected), and a logout costs one claim and one rule lookup.
    TokenFamilyRevoked: URGENT,
    UserLocked: URGENT,
    UserRegistered: ROUTINE,
    UserLoggedIn: ROUTINE,
    UserDeactivated: ROUTINE,
    PasswordChanged: ROUTINE,
    PasswordResetRequested: ROUTINE,
    MFAChallengeFailed: ROUTINE,
    MFADeviceCreated: ROUTINE,
    MFADeviceDisabled: ROUTINE,
    MFABackupCodesGenerated: ROUTINE,
    DeviceRegistered: ROUTINE,
    DeviceRevoked: ROUTINE,
    RoleAssignedToUser: ROUTINE,
    RoleRevokedFromUser: ROUTINE,
    PermissionElevationRequested: ROUTINE,
    PermissionElevationApproved: ROUTINE,
    PermissionElevationDenied: ROUTINE,
    ComplianceViolationDetected: ROUTINE,
}

EVENT_TYPES = frozenset(event.type for event in LANES)
URGENT_TYPES = frozenset(event.type for event, lane in LANES.items() if lane == URGENT)


def is_urgent(event_type: str) -> bool:
    return event_type in URGENT_TYPES
