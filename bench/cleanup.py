"""Emptying what a measure fills, between measures: the queues and the tables."""

from __future__ import annotations

import contextlib
import time


def reset() -> None:
    """Empty what a measure fills: the queues, the consumers' tables and the bus's (outbox,
    claims); the notification rules, seeded by a migration, stay."""
    from django.apps import apps
    from django.db import OperationalError, connection, transaction

    from identity_project.eventbus import routing
    from notification.models import NotificationRule

    tables = []
    for app in ("audit", "eventbus", "notification", "integration"):
        models = apps.get_app_config(app).get_models()
        tables += [model._meta.db_table for model in models if model is not NotificationRule]
    # Workers that run on between measures may still be in a message's transaction: the TRUNCATE
    # can lose a deadlock to it (or wait past the lock timeout), and is tried again once it ended.
    for attempt in range(20):
        purge_queues(*routing.queue_names())
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                cursor.execute(f"TRUNCATE {', '.join(tables)}")
            return
        except OperationalError:
            if attempt == 19:
                raise
            time.sleep(0.5)


def purge_queues(*queues: str) -> None:
    from identity_project.celery import app

    with app.connection_for_write() as connection:
        for queue in queues:
            # A channel each: purging a queue nobody declared yet closes its channel.
            with contextlib.suppress(Exception), connection.channel() as channel:
                channel.queue_purge(queue)
