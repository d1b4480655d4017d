"""The baseline: a Celery task that does nothing, with the consumers' task options."""

from celery import shared_task


@shared_task(name="bench.noop", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def noop(payload: list) -> None:
    return None
