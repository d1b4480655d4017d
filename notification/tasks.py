"""Celery tasks of the notification app: the digest and the purge of counted events (thin).

E-mails are sent, retried and swept by the outbound mechanism's task and sweep."""

from identity_project.celery import app
from notification import digests, services


@app.task(name="notification.send_digests", acks_late=True, ignore_result=True)
def send_digests() -> None:
    digests.digests_send()


@app.task(name="notification.purge_threshold_hits", acks_late=True, ignore_result=True)
def purge_threshold_hits() -> None:
    services.threshold_hits_purge()
