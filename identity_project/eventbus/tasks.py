"""Periodic tasks of the event bus."""

from celery import shared_task

from identity_project.eventbus import deadletters, retention


@shared_task(name="eventbus.drain_dead_letter_queues", ignore_result=True)
def drain_dead_letter_queues() -> int:
    return deadletters.drain_dead_letter_queues()


@shared_task(name="eventbus.purge_history", ignore_result=True)
def purge_history() -> dict[str, int]:
    return retention.purge_history()
