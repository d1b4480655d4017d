"""The probe consumer. Every attempt leaves a file in marker_dir (outside any transaction), so
tests can count attempts and their timing even for attempts that rolled back.

probe_logins, on the same queue, records each sign-in as its handler received it. It is a consumer
of its own so that the sign-ins of other tests never move the probe consumer's counts."""

import os
import signal
import time
from pathlib import Path

from identity.events import UserLoggedIn
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered
from identity_project.eventbus.errors import PermanentError, TransientError
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect

probe = Consumer("probe", queue="probe", max_retries=3)
probe_logins = Consumer("probe_logins", queue="probe", max_retries=3)


@probe.handles(ProbeRequested)
def apply(delivered: Delivered) -> None:
    event: ProbeRequested = delivered.event
    markers = Path(event.marker_dir) if event.marker_dir else None
    if markers:
        (markers / f"attempt-{delivered.attempt}-{time.time():.3f}-{os.getpid()}").touch()
    if event.action == "kill_always":
        os.kill(os.getpid(), signal.SIGKILL)
    if event.action == "hang_once" and markers and not (markers / "hung").exists():
        (markers / "hung").write_text(str(os.getpid()))
        time.sleep(60)  # the test kills this process meanwhile
    if event.action == "fail_transient" and delivered.attempt < event.fail_times:
        raise TransientError(f"probe transient failure on attempt {delivered.attempt}")
    if event.action == "fail_permanent":
        raise PermanentError("probe permanent failure")
    if event.action == "fail_while_marker" and markers and (markers / "broken").exists():
        raise TransientError("probe is broken")
    ProbeEffect.objects.create(
        probe_id=event.probe_id, event_id=delivered.event_id, attempt=delivered.attempt
    )


@apply.compensate
def undo(delivered: Delivered, error: BaseException) -> None:
    """Leaves a trace the test can see: the compensation ran once the event was dead-lettered."""
    ProbeEffect.objects.create(
        probe_id=f"{delivered.event.probe_id}-compensated",
        event_id=delivered.event_id,
        attempt=delivered.attempt,
    )


@probe_logins.handles(UserLoggedIn)
def record_login(delivered: Delivered) -> None:
    """The version, door and method of the envelope the handler was given, e.g. "v2 api password"."""
    envelope = delivered.envelope
    ProbeEffect.objects.create(
        probe_id=f"v{envelope['version']} {envelope['data']['door']} {envelope['data']['method']}",
        event_id=delivered.event_id,
        attempt=delivered.attempt,
    )
