"""`make demo`: the scripted tour on the embedded defaults prints the audit trail, the mails and
the webhook deliveries its steps caused, and leaves no process running."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.embedded.test_make_run import SERVICE_VARIABLES
from tests.support.processes import ROOT


def sections(output: str) -> dict[str, str]:
    """The report's parts by their title: "== Audit trail: 48 entries ==" is "Audit trail"."""
    parts = re.split(r"^== ([^:=]+)[^\n]*==$", output, flags=re.MULTILINE)
    return {title: body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def processes_with(var: Path) -> list[int]:
    """Processes whose environment names this run's VAR_DIR: what the demo started."""
    marker = f"VAR_DIR={var}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue  # gone, or not ours to read
    return found


@pytest.mark.slow
def test_make_demo_tours_the_platform_and_prints_what_it_caused(tmp_path):
    # given the embedded defaults: no database, broker or mail server configured
    var = tmp_path / "var"
    env = {
        k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("EVENTBUS_")
    }
    env.update(VAR_DIR=str(var))
    env.pop("SECRET_KEY", None)

    # when
    done = subprocess.run(
        ["make", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )

    # then the tour ran to its end and reported each step's traces
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    report = sections(done.stdout)
    assert set(report) == {"Audit trail", "Mails written", "Webhook deliveries"}
    trail = report["Audit trail"]
    for event_type in (
        "identity.user.registered",
        "identity.mfa_device.verified",
        "identity.mfa_challenge.completed",
        "identity.user.locked",
        "identity.suspicious_login.detected",
        "identity.security_alert.raised",
    ):
        assert event_type in trail, event_type
    assert re.search(r"identity\.user\.locked\s+alice\s+reason=too_many_failures", trail)
    assert re.search(r"identity\.suspicious_login\.detected\s+bob\s+.*new_device,new_network", trail)
    mails = report["Mails written"]
    assert re.search(r"to alice@example.com\s+Your account is locked", mails)
    assert re.search(r"to bob@example.com\s+Suspicious sign-in to your account", mails)
    assert re.search(r"to admin@example.com\s+Security alert", mails)
    deliveries = report["Webhook deliveries"]
    for event_type in ("identity.user.locked", "identity.suspicious_login.detected"):
        assert re.search(rf"{re.escape(event_type)}\s+delivered\s+HTTP 204", deliveries), event_type
    received = re.search(r"The receiver got (\d+) requests, (\d+) with a valid signature", deliveries)
    assert received is not None
    assert received[1] == received[2] != "0"
    # and the mails it names are the files it wrote
    written = "".join(path.read_text() for path in (var / "demo" / "mail").glob("*.log"))
    assert "Subject: Suspicious sign-in to your account" in written
    # and everything it started is stopped
    assert "All processes stopped." in done.stdout
    assert processes_with(var / "demo") == []
