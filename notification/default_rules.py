"""The default notification rules: every event marked N in ../shared/EVENTS.md notifies someone.

Migrations keep their own frozen copy of the rows they install (0002_default_rules): a rule added
here comes with a data migration of its own that adds that rule, and resets nothing an admin
edited. The tests reinstall these after flushing the tables."""

from __future__ import annotations

from typing import Any

ADMINS = "identity.manage_users"
APPROVERS = "identity.approve_elevation"


def _rule(key: str, event_type: str, category: str, **fields: Any) -> dict[str, Any]:
    """A rule to the user concerned, by e-mail and in-app, with the template named like its key."""
    return {"key": key, "event_type": event_type, "category": category, "template": key.replace("-", "_")} | {
        "recipients": "user",
        "permission": "",
        "email": True,
        "in_app": True,
        "mandatory": False,
        **fields,
    }


MANDATORY = {"mandatory": True}

RULES = [
    _rule("welcome", "identity.user.registered", "account"),
    _rule("new-sign-in", "identity.user.logged_in", "security", dedupe_field="ip_address"),
    _rule("suspicious-login", "identity.suspicious_login.detected", "security_alerts", **MANDATORY),
    _rule("account-locked", "identity.user.locked", "security_alerts", **MANDATORY),
    _rule("account-deactivated", "identity.user.deactivated", "account", in_app=False, mandatory=True),
    _rule("password-changed", "identity.password.changed", "security", mandatory=True),
    # The reset mail itself, with its link, is identity's (identity/mail.py): a token
    # never travels in an event. This rule only leaves an in-app trace; the admin may add e-mail.
    _rule("password-reset", "identity.password.reset_requested", "account", email=False, mandatory=True),
    _rule(
        "token-reuse",
        "identity.token_family.revoked",
        "security_alerts",
        conditions={"reason": "reuse_detected"},
        **MANDATORY,
    ),
    _rule(
        "mfa-failures",
        "identity.mfa_challenge.failed",
        "security_alerts",
        mandatory=True,
        threshold_count=3,
        threshold_window_seconds=600,
    ),
    _rule("mfa-device-added", "identity.mfa_device.created", "security"),
    _rule("mfa-device-removed", "identity.mfa_device.disabled", "security"),
    _rule("backup-codes", "identity.mfa_backup_codes.generated", "security"),
    _rule("new-device", "identity.device.registered", "security", dedupe_field="device_id"),
    _rule("device-revoked", "identity.device.revoked", "security"),
    _rule("role-assigned", "identity.role.assigned_to_user", "access", email=False),
    _rule("role-revoked", "identity.role.revoked_from_user", "access"),
    _rule(
        "elevation-requested",
        "identity.permission_elevation.requested",
        "admin",
        recipients="approvers",
        permission=APPROVERS,
    ),
    _rule("elevation-approved", "identity.permission_elevation.approved", "access"),
    _rule("elevation-denied", "identity.permission_elevation.denied", "access"),
    _rule(
        "security-alert",
        "identity.security_alert.raised",
        "security_alerts",
        recipients="permission",
        permission=ADMINS,
        **MANDATORY,
    ),
    # The user whose passkey was cloned is told too: the admins' alert is not theirs to read.
    _rule(
        "cloned-passkey",
        "identity.security_alert.raised",
        "security_alerts",
        conditions={"category": "cloned_authenticator"},
        **MANDATORY,
    ),
    _rule(
        "compliance-violation",
        "identity.compliance_violation.detected",
        "admin",
        recipients="permission",
        permission=ADMINS,
    ),
]


def install(rule_model) -> None:
    """Create or reset the default rules; takes the model class, so a migration can pass its
    historical model."""
    for rule in RULES:
        rule_model.objects.update_or_create(
            key=rule["key"], defaults={k: v for k, v in rule.items() if k != "key"}
        )
