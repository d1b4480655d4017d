"""RabbitMQ across hosts: CELERY_BROKER_URL may name several nodes of one cluster, separated by
';' (kombu's failover list). A connection starts at the first node and, when a node refuses it or
drops it, kombu switches to the next; so every caller that connects gives each node one try
before it gives up, and says which node it reached without the credentials of its URL.
"""

from __future__ import annotations

from kombu import Connection


def connect_retries(broker_url: str) -> int:
    """Retries of one connect that give every node of the list a try (kombu moves to the next node
    after each failure, without a pause inside a round); a single node keeps its one quick retry."""
    return max(1, len([url for url in broker_url.split(";") if url.strip()]) - 1)


def reached(connection: Connection) -> str:
    """host:port of the node a connection reached (or will try next): for /readyz and the logs. A
    transport without a host (the filesystem broker of `make run`) is named instead."""
    if not connection.hostname:
        return str(connection.transport_cls)
    return f"{connection.hostname}:{connection.port or connection.transport.default_port}"
