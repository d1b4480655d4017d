"""The waits of a consumer's retries: capped for any number of attempts, and on Redis short enough
that a message waiting in a worker's memory is never handed to a second worker."""

from __future__ import annotations

from identity_project.eventbus import retries


def test_an_outage_of_any_length_keeps_the_capped_wait():
    # given as many send-backs as a days-long outage makes
    attempts = [0, 10, 1100, 5000]

    # when their waits are computed
    waits = [retries.backoff(attempt, factor=1.0, maximum=300) for attempt in attempts]

    # then each is within its bounds, the long ones at the cap
    assert 1 <= waits[0] < 2
    assert waits[1:] == [300, 300, 300]


def test_on_redis_no_wait_reaches_half_the_visibility_timeout(settings):
    # given Redis as the broker, a visibility timeout of 20 s and a backoff cap of 300 s
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/13"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 20}
    settings.EVENTBUS = {**settings.EVENTBUS, "BACKOFF_FACTOR": 1.0, "BACKOFF_MAX": 300.0}

    # when a long outage's waits are computed
    waits = {retries.countdown(attempt) for attempt in range(5, 30)}

    # then none reaches 10 s, so a waiting message never comes back to a second worker
    assert waits == {10}


def test_on_rabbitmq_the_broker_holds_the_wait_up_to_the_backoff_cap(settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/any"
    settings.EVENTBUS = {**settings.EVENTBUS, "BACKOFF_FACTOR": 1.0, "BACKOFF_MAX": 300.0}

    assert {retries.countdown(attempt) for attempt in range(9, 30)} == {300}
