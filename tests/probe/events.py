"""The probe's event (source "tests": not part of identity's catalog)."""

from __future__ import annotations

from typing import Literal

from identity_project.eventbus.catalog import Event

Action = Literal["ok", "fail_transient", "fail_permanent", "fail_while_marker", "kill_always", "hang_once"]


class ProbeRequested(Event, type="tests.probe.requested", aggregate="probe", source="tests"):
    """Asks the probe handler to act: succeed, fail, or kill its worker."""

    probe_id: str
    action: Action
    fail_times: int = 0
    marker_dir: str = ""


class ProbeNoted(Event, type="tests.probe.noted", aggregate="probe", source="tests"):
    """The recipe's new event (tests/test_recipes.py): a class and its publisher, nothing else."""

    probe_id: str
    note: str
