"""Periodic tasks of the event bus."""

from celery import shared_task

from identity_project.eventbus import deadletters


@shared_task(name="eventbus.drain_dead_letter_queues", ignore_result=True)
def drain_dead_letter_queues() -> int:
    return deadletters.drain_dead_letter_queues()
