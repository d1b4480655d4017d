"""Compliance rules: separation of duties at assignment, and the daily check of privileged accounts.

A finding is published once (ComplianceViolationDetected) and stays open until resolved, so the
daily check does not report the same thing every day.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from identity.errors import Conflict
from identity.events import ComplianceViolationDetected
from identity.models import ComplianceViolation, Role, RoleAssignment, SodRule, User
from identity.services.mfa_devices import mfa_enabled
from identity_project.eventbus.publisher import publish


def _report(*, rule: str, user: User, key: str, details: dict, severity: str) -> bool:
    """Open a violation and publish it, unless the same one is already open."""
    try:
        with transaction.atomic():
            violation = ComplianceViolation.objects.create(
                rule=rule, user=user, key=key, details=details, severity=severity
            )
    except IntegrityError:
        return False
    publish(
        ComplianceViolationDetected(
            violation_id=violation.id, rule=rule, user_id=user.id, details=details, severity=severity
        )
    )
    return True


def _held_roles(user: User, now) -> set:
    current = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return set(RoleAssignment.objects.filter(current, user=user).values_list("role_id", flat=True))


def check_assignment(*, user: User, role: Role) -> None:
    """Before `role` is given: refuse it, or flag it, when the user holds a role it conflicts with."""
    held = _held_roles(user, timezone.now())
    for rule in SodRule.objects.filter(Q(role_a=role) | Q(role_b=role)).select_related("role_a", "role_b"):
        other = rule.role_b if rule.role_a_id == role.id else rule.role_a
        if other.id not in held:
            continue
        if rule.mode == SodRule.Mode.REFUSE:
            raise Conflict(
                f"{role.name} and {other.name} may not be held together ({rule.name}).", code="sod_conflict"
            )
        _report(
            rule="sod_conflict",
            user=user,
            key=f"sod:{rule.pk}",
            details={"sod_rule": rule.name, "roles": sorted([role.name, other.name])},
            severity="high",
        )


def check_privileged_mfa(*, user: User, role: Role) -> None:
    """A privileged role wants a second factor on the account."""
    if role.is_privileged and not mfa_enabled(user):
        _report(
            rule="privileged_without_mfa",
            user=user,
            key=f"role:{role.pk}",
            details={"role": role.name},
            severity="medium",
        )


def daily_check(*, now=None) -> int:
    """Privileged accounts unused for COMPLIANCE_STALE_DAYS, privileged accounts without MFA, and
    flagged separation-of-duties conflicts that still stand. Returns the new findings."""
    now = now or timezone.now()
    stale_before = now - timedelta(days=settings.IDENTITY["COMPLIANCE_STALE_DAYS"])
    found = 0
    privileged = (
        RoleAssignment.objects.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now), role__is_privileged=True
        )
        .select_related("user", "role")
        .order_by("user_id")
    )
    for assignment in privileged:
        user = assignment.user
        last_seen = user.last_login or user.date_joined
        if user.is_active and last_seen < stale_before:
            found += _report(
                rule="stale_privileged_account",
                user=user,
                key="stale",
                details={"last_login": user.last_login.isoformat() if user.last_login else None},
                severity="medium",
            )
        if user.is_active and not mfa_enabled(user):
            found += _report(
                rule="privileged_without_mfa",
                user=user,
                key=f"role:{assignment.role_id}",
                details={"role": assignment.role.name},
                severity="medium",
            )
    for rule in SodRule.objects.filter(mode=SodRule.Mode.FLAG).select_related("role_a", "role_b"):
        holders_a = set(RoleAssignment.objects.filter(role=rule.role_a).values_list("user_id", flat=True))
        for assignment in RoleAssignment.objects.filter(
            role=rule.role_b, user_id__in=holders_a
        ).select_related("user"):
            found += _report(
                rule="sod_conflict",
                user=assignment.user,
                key=f"sod:{rule.pk}",
                details={"sod_rule": rule.name, "roles": sorted([rule.role_a.name, rule.role_b.name])},
                severity="high",
            )
    return found
