"""What waits on a queue of this run's broker, read by the tests that check what was enqueued."""

from __future__ import annotations

import json

from identity_project.celery import app as celery_app


def take_queued_args(queue: str, task: str, *, every: bool = False) -> list:
    """The first argument (or, with `every`, all of them) of each `task` message waiting on
    `queue`; every message is taken off."""
    firsts = []
    with celery_app.connection_for_read() as broker:
        while (message := broker.default_channel.basic_get(queue=queue, no_ack=True)) is not None:
            if message.headers.get("task") == task:
                args, _, _ = json.loads(message.body)
                firsts.append(args if every else args[0])
    return firsts
