"""Just-in-time elevation: a user asks for a permission for a while; another person decides."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from identity.errors import Conflict, IdentityError, NotFound
from identity.events import (
    PermissionElevationApproved,
    PermissionElevationDenied,
    PermissionElevationRequested,
)
from identity.models import ElevationRequest, Permission, User
from identity.services.grants import permission_grant
from identity_project.eventbus.publisher import publish


@transaction.atomic
def elevation_request(
    *, user: User, codename: str, justification: str, duration_seconds: int
) -> ElevationRequest:
    permission = Permission.objects.filter(codename=codename).first()
    if permission is None:
        raise NotFound(f"No permission {codename}.")
    longest = settings.IDENTITY["ELEVATION_MAX_SECONDS"]
    if not 60 <= duration_seconds <= longest:
        raise IdentityError(
            "The duration is out of range.",
            code="validation_error",
            fields={"duration_seconds": [f"Between 60 and {longest} seconds."]},
        )
    request = ElevationRequest.objects.create(
        user=user, permission=permission, justification=justification, duration_seconds=duration_seconds
    )
    publish(
        PermissionElevationRequested(
            request_id=request.id,
            user_id=user.id,
            permission_id=permission.id,
            justification=justification,
            duration_seconds=duration_seconds,
        )
    )
    return request


def _pending(request_id, approver: User) -> ElevationRequest:
    request = (
        ElevationRequest.objects.select_for_update()
        .select_related("permission", "user")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise NotFound("No such elevation request.")
    if request.user_id == approver.id:
        raise IdentityError(
            "Nobody decides on their own elevation request.", code="own_request", status_code=403
        )
    if request.status != ElevationRequest.Status.PENDING:
        raise Conflict(f"The request is already {request.status}.", code="already_decided")
    return request


@transaction.atomic
def elevation_approve(*, request_id, approver: User) -> ElevationRequest:
    """A time-bound grant follows (PermissionGrantedToUser, then PermissionElevationApproved)."""
    request = _pending(request_id, approver)
    now = timezone.now()
    expires_at = now + timedelta(seconds=request.duration_seconds)
    permission_grant(
        user=request.user, permission=request.permission, expires_at=expires_at, granted_by=approver
    )
    request.status, request.decided_by, request.decided_at = ElevationRequest.Status.APPROVED, approver, now
    request.save(update_fields=["status", "decided_by", "decided_at"])
    publish(
        PermissionElevationApproved(
            request_id=request.id,
            user_id=request.user_id,
            permission_id=request.permission_id,
            approver_id=approver.id,
            expires_at=expires_at,
        )
    )
    return request


@transaction.atomic
def elevation_deny(*, request_id, approver: User, reason: str) -> ElevationRequest:
    request = _pending(request_id, approver)
    request.status, request.decided_by, request.decided_at = (
        ElevationRequest.Status.DENIED,
        approver,
        timezone.now(),
    )
    request.reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    publish(
        PermissionElevationDenied(
            request_id=request.id,
            user_id=request.user_id,
            permission_id=request.permission_id,
            approver_id=approver.id,
            reason=reason,
        )
    )
    return request
