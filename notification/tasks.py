"""Celery tasks of the notification app: a retry of one e-mail, the digest, the sweep (thin)."""

from identity_project.celery import app
from notification import channels, services


@app.task(name="notification.send_delivery", acks_late=True, ignore_result=True)
def send_delivery(delivery_id: int) -> None:
    channels.delivery_send(delivery_id=delivery_id)


@app.task(name="notification.send_digests", acks_late=True, ignore_result=True)
def send_digests() -> None:
    services.digests_send()


@app.task(name="notification.sweep_pending", acks_late=True, ignore_result=True)
def sweep_pending() -> None:
    channels.pending_sweep()
    services.threshold_hits_purge()
