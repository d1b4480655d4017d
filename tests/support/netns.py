"""Worker hosts on one machine: network namespaces (`ip netns`), each plugged by a veth pair into a
bridge of this machine, their switch. The bridge holds the address the hosts reach the services at:
the shared PostgreSQL and Redis listen on loopback, which a namespace cannot reach, so the test
serves them there through a TcpProxy each, and a private RabbitMQ node listens there itself.

A host is cut off by taking its port of the switch down, as if its cable were pulled: nothing is
refused or reset, its packets go nowhere on either side, and only the heartbeats tell RabbitMQ and
the worker that the other end is gone.

What is made carries its owner's process id (the namespaces' names, the links' aliases): a run
killed before its finalizers leaves it behind, and the next run removes what belongs to a process
that is gone (with the processes still inside) before it makes its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

from tests.integration.conftest import CIRCUIT_CACHE_URL
from tests.support.processes import database_url
from tests.support.rabbitmq_node import RabbitMQNode
from tests.support.tcp_proxy import TcpProxy

OWNER = "chaos-host"
_NAMESPACE = re.compile(rf"{OWNER}-(\d+)-[0-9a-f]+-\d+$")
_ALIAS = re.compile(rf"{OWNER} owner=(\d+)$")


def ip(*args: str, check: bool = True) -> str:
    """Run iproute2's `ip`; its output."""
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=30).stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_namespace(name: str) -> None:
    """A namespace lives on while a process is inside it: those go first (a worker a killed run
    left running, or one that would not stop)."""
    for pid in ip("netns", "pids", name, check=False).split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    ip("netns", "del", name, check=False)


def sweep() -> None:
    """Remove the namespaces and links of runs whose process is gone."""
    for entry in json.loads(ip("-j", "netns", "list") or "[]"):
        owner = _NAMESPACE.match(entry["name"])
        if owner and not _alive(int(owner[1])):
            _remove_namespace(entry["name"])
    for link in json.loads(ip("-j", "link", "show") or "[]"):
        owner = _ALIAS.match(link.get("ifalias", ""))
        if owner and not _alive(int(owner[1])):
            ip("link", "del", link["ifname"], check=False)


def _free_subnet() -> str:
    """A /24 of 10.213/16 that no address or route of this machine uses; picked at random, so that
    runs side by side take different ones."""
    used = ip("-4", "-o", "addr") + ip("-4", "route", "show", "table", "all")
    return random.choice([f"10.213.{n}" for n in range(1, 255) if f"10.213.{n}." not in used])


@dataclass
class Host:
    """One worker host: a namespace with `eth0` at `address`, plugged into the switch at `port`."""

    namespace: str
    port: str
    address: str

    @property
    def prefix(self) -> list[str]:
        """The command that runs another inside this host (it execs it: the pid stays the same)."""
        return ["ip", "netns", "exec", self.namespace]

    def cut(self) -> None:
        ip("link", "set", self.port, "down")

    def restore(self) -> None:
        ip("link", "set", self.port, "up")


class Network:
    """The switch (a bridge holding `address`, where the services are) and the hosts on it."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.alias = f"{OWNER} owner={os.getpid()}"
        self.subnet = _free_subnet()
        self.address = f"{self.subnet}.1"
        self.bridge = f"chb-{self.tag}"
        self.hosts: list[Host] = []

    def create(self) -> None:
        sweep()
        ip("link", "add", self.bridge, "type", "bridge")
        ip("link", "set", self.bridge, "alias", self.alias)
        ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add_host(self) -> Host:
        number = len(self.hosts) + 1
        host = Host(
            namespace=f"{OWNER}-{os.getpid()}-{self.tag}-{number}",
            port=f"chp-{self.tag}-{number}",
            address=f"{self.subnet}.{10 + number}",
        )
        self.hosts.append(host)  # before it exists: remove() takes a half-made host too
        ip("netns", "add", host.namespace)
        ip("link", "add", host.port, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
        ip("link", "set", host.port, "alias", self.alias)
        ip("link", "set", host.port, "master", self.bridge, "up")
        inside = ("-n", host.namespace)
        ip(*inside, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip(*inside, "link", "set", "eth0", "up")
        # The doorbell (a UDP hint to the relay on 127.0.0.1) goes nowhere in a host, quietly.
        ip(*inside, "link", "set", "lo", "up")
        return host

    def remove(self) -> None:
        for host in self.hosts:
            ip("link", "del", host.port, check=False)
            _remove_namespace(host.namespace)
        ip("link", "del", self.bridge, check=False)


@contextlib.contextmanager
def switch() -> Iterator[Network]:
    """A switch for one test, removed at the end whatever happened (also when half made)."""
    network = Network()
    try:
        network.create()
        yield network
    finally:
        network.remove()


class SwitchNode(RabbitMQNode):
    """A private RabbitMQ node listening at the switch's address only. RabbitMQ lets guest in from
    loopback alone unless `loopback_users = none`; the hosts come from their own addresses."""

    def __init__(self, address: str) -> None:
        super().__init__(prefix="partition")
        self.address = address
        self.env["RABBITMQ_NODE_IP_ADDRESS"] = address
        config = self.folder / "rabbitmq.conf"
        config.write_text("loopback_users = none\n")
        shutil.chown(config, "rabbitmq", "rabbitmq")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{self.address}:{self.port}/%2F"

    def unacknowledged(self, peer: str) -> int:
        """Messages delivered to the connections from `peer` and not acknowledged yet."""
        held = 0
        for line in self.ctl(
            "list_channels", "name", "messages_unacknowledged", "--no-table-headers"
        ).splitlines():
            name, _, count = line.rpartition("\t")
            if name.startswith(f"{peer}:"):
                held += int(count)
        return held

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in Path(self.folder, "log").glob("*.log"))


def _through(url: str, address: str, proxy: TcpProxy) -> str:
    """The same URL with the proxy's address in place of its host and port."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return parts._replace(netloc=f"{credentials}@{address}:{proxy.port}".lstrip("@")).geturl()


class SwitchServices:
    """This run's PostgreSQL and Redis (the default cache and the webhook circuits' database) and a
    receiver on loopback, served at the switch's address through TcpProxy, for the hosts."""

    def __init__(self, address: str, *, receiver_port: int) -> None:
        self.address = address
        database = connection.settings_dict
        self.postgresql = TcpProxy(
            database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432), listen=address
        )
        cache = urlsplit(settings.REDIS_URL)
        self.redis = TcpProxy(cache.hostname or "127.0.0.1", cache.port or 6379, listen=address)
        self.receiver = TcpProxy("127.0.0.1", receiver_port, listen=address)

    def receiver_url(self, path: str = "/hook") -> str:
        return f"http://{self.address}:{self.receiver.port}{path}"

    def env(self) -> dict[str, str]:
        """What a worker in a host reaches them with."""
        return {
            "DATABASE_URL": database_url(host=self.address, port=self.postgresql.port),
            "REDIS_URL": _through(settings.REDIS_URL, self.address, self.redis),
            "WEBHOOK_CIRCUIT_CACHE_URL": _through(CIRCUIT_CACHE_URL, self.address, self.redis),
        }

    def close(self) -> None:
        for proxy in (self.postgresql, self.redis, self.receiver):
            proxy.close()
