"""A private three-node RabbitMQ cluster for one test module, whose nodes it may stop and start.

Three RabbitMQNodes (each with its own name, ports and data; the shared server on 5672 is never
touched), started side by side, then the second and third joined to the first. Quorum queues
declared once all three are members get a replica on each. The platform reaches the cluster
through kombu's failover list (`url`: every node's URL, separated by ';').

A node stopped while its peers ran comes back at once: on boot, mnesia waits only for a peer
that was running when it went down, and one still is as long as the cluster keeps a node up
(the scenarios never stop all three).
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Sequence

from tests.support.rabbitmq_node import RabbitMQNode


class RabbitMQCluster:
    def __init__(self, size: int = 3, prefix: str = "cluster") -> None:
        self.nodes = [RabbitMQNode(prefix) for _ in range(size)]
        self.stopped: set[str] = set()

    @property
    def url(self) -> str:
        """kombu's failover list: a client tries the nodes in this order, and moves on when one goes."""
        return ";".join(node.url for node in self.nodes)

    def start(self, timeout: float = 180) -> None:
        """Boot every node, join the others to the first, and wait until all three run together."""
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.await_started(timeout)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.name)
            node.ctl("start_app")
        self._await_running(len(self.nodes), timeout)

    def node(self, name: str) -> RabbitMQNode:
        return next(node for node in self.nodes if node.name == name)

    def running(self) -> list[RabbitMQNode]:
        return [node for node in self.nodes if node.name not in self.stopped]

    def stop(self, node: RabbitMQNode) -> None:
        node.stop()
        self.stopped.add(node.name)

    def start_node(self, node: RabbitMQNode, timeout: float = 120) -> None:
        """Start a stopped node again; it rejoins the cluster it left."""
        node.start(timeout)
        self.stopped.discard(node.name)
        self._await_running(len(self.running()), timeout)

    def queues(self) -> dict[str, dict]:
        """name -> {type, leader, members} of every queue whose leader answers, asked of a running
        node. A quorum queue without a majority has no leader and is left out."""
        out = self.running()[0].ctl("list_queues", "name", "type", "leader", "members", "--formatter", "json")
        return {queue["name"]: queue for queue in json.loads(out or "[]")}

    def leader(self, queues: Sequence[str], timeout: float = 60) -> RabbitMQNode:
        """The running node that leads most of `queues` (one node, unless leaders moved), once each
        has a leader that runs: after a leader stops, the other replicas elect one."""
        deadline = time.monotonic() + timeout
        while True:
            known = self.queues()
            leaders = [known.get(queue, {}).get("leader") for queue in queues]
            if all(leader and leader not in self.stopped for leader in leaders):
                return self.node(Counter(leaders).most_common(1)[0][0])
            if time.monotonic() > deadline:
                raise AssertionError(f"no running node leads each of {queues}: {known}")
            time.sleep(0.5)

    def _await_running(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status = json.loads(self.running()[0].ctl("cluster_status", "--formatter", "json"))
            if len(status["running_nodes"]) == count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the cluster runs {status['running_nodes']}, not {count} nodes")
            time.sleep(0.5)

    def remove(self) -> None:
        """Stop and delete every node (also after a failed test). A node this cluster stopped only
        loses its folder: its old pid file may name another process by now."""
        for node in self.nodes:
            if node.name in self.stopped:
                shutil.rmtree(node.folder, ignore_errors=True)
            else:
                node.remove()
