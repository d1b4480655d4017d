"""Putting resume tasks on the integration queue (tasks import services: imported late)."""

from __future__ import annotations

import uuid

from identity_project.eventbus import routing
from integration.circuit import circuit_cache


def resume_scheduled_key(subscription_id: uuid.UUID) -> str:
    return f"integration:resume_scheduled:{subscription_id}"


def subscription_resume_schedule(
    subscription_id: uuid.UUID, countdown: float, *, force: bool = False
) -> None:
    """At most one resume task waiting per subscription (the sweep makes up for a lost one)."""
    from integration.tasks import resume

    if force or circuit_cache().add(resume_scheduled_key(subscription_id), 1, timeout=int(countdown) + 10):
        resume.apply_async(
            queue=routing.INTEGRATION,
            args=(str(subscription_id),),
            countdown=max(1, round(countdown)) if countdown else None,
        )
