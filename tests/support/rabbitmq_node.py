"""A private RabbitMQ node for one test (or benchmark), which it may stop, start or put under a
memory alarm at will.

The shared server on 5672 serves other test runs and must never be stopped; this node has its
own name, ports, data and logs under a temporary folder, no plugins, and listens on loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.support.ports import free_port


class RabbitMQNode:
    def __init__(self, prefix: str = "chaos") -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-rabbitmq-"))
        # The Debian scripts run the server as the rabbitmq user: it must own its folder.
        shutil.chown(self.folder, "rabbitmq", "rabbitmq")
        plugins = self.folder / "enabled_plugins"
        plugins.write_text("[].\n")
        shutil.chown(plugins, "rabbitmq", "rabbitmq")
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            # Not the shared server's files, which name its listener on 5672.
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config"),
        }

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def ctl(self, *args: str, tool: str = "rabbitmqctl", timeout: float = 120) -> str:
        """Run a RabbitMQ CLI tool (rabbitmqctl, rabbitmq-diagnostics) against this node."""
        return subprocess.run(
            [tool, "-n", self.name, "-q", *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        ).stdout

    def start(self, timeout: float = 120) -> None:
        """Start the node and wait until it serves."""
        self.launch()
        self.await_started(timeout)

    def launch(self) -> None:
        """Start the node without waiting for it: a cluster boots its nodes side by side."""
        subprocess.run(
            ["rabbitmq-server", "-detached"], env=self.env, cwd=self.folder, check=True, timeout=60
        )

    def await_started(self, timeout: float = 120) -> None:
        """Wait until the launched node serves. Until the detached node has registered with epmd,
        await_startup fails at once instead of waiting: it is asked again."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.ctl("await_startup", "--timeout", "30", timeout=40)
                return
            except subprocess.CalledProcessError as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(f"RabbitMQ node {self.name} did not start: {exc.stderr!r}") from exc
                time.sleep(1)

    def stop(self) -> None:
        self.ctl("stop", timeout=60)

    def memory_alarm(self, raised: bool) -> None:
        """Raise (a high watermark of 1 byte) or clear RabbitMQ's memory alarm, and wait until the
        node reports it so. Raised, as under pressure, it blocks every connection that publishes
        (the broker stops reading from it) until it clears; consumers go on."""
        self.ctl("set_vm_memory_high_watermark", *(("absolute", "1") if raised else ("0.4",)))
        deadline = time.monotonic() + 30
        while ("Memory alarm" in self.ctl("alarms", tool="rabbitmq-diagnostics")) != raised:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the memory alarm of {self.name} is not {'raised' if raised else 'cleared'}"
                )
            time.sleep(0.2)

    def remove(self) -> None:
        """Stop the node if it runs (also after a failed test) and delete its folder."""
        try:
            self.stop()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pid_file = self.folder / "pid"
            if pid_file.exists() and pid_file.read_text().strip().isdigit():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)
