"""GET /metrics on the platform started as production starts it: gunicorn with two workers, a
Celery worker with prefork children and a relay, each its own process, with PROMETHEUS_MULTIPROC_DIR
left out of their environment (their settings name the folder, as the default VAR_DIR/prometheus
does). The counters of every process are scraped over real HTTP and read with prometheus_client's
own parser."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import transaction
from prometheus_client.parser import text_string_to_metric_families

from identity.services.accounts import user_register
from identity_project.eventbus.models import OutboxEvent
from identity_project.eventbus.publisher import publish
from tests.conftest import purge_queues
from tests.identity.support import PASSWORD
from tests.probe.events import ProbeRequested
from tests.probe.models import ProbeEffect
from tests.support.processes import PYTHON, ROOT, service_env, start_web, start_worker, wait_for

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def platform_env() -> dict[str, str]:
    """The processes' environment without PROMETHEUS_MULTIPROC_DIR: only the settings name it."""
    env = service_env()
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def count_in_an_ended_process(identifier: str, consumer: str) -> None:
    """A process that counted 1000 events of `consumer` into the run's folder under `identifier` (a
    Python expression, evaluated in it) and ended."""
    code = (
        "import os; from prometheus_client import values;"
        f" values.ValueClass = values.MultiProcessValue(lambda: {identifier});"
        f" from identity_project import metrics; metrics.EVENTS_PROCESSED.labels('{consumer}').inc(1000)"
    )
    env = {**platform_env(), "PROMETHEUS_MULTIPROC_DIR": str(settings.PROMETHEUS_MULTIPROC_DIR)}
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, check=True)


def scrape(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far a sample moved: the folder is the host's, shared with the run's other processes."""
    return value(after, name, **labels) - value(before, name, **labels)


def scrape_until(url: str, before: Samples, name: str, at_least: float, **labels: str) -> Samples:
    """The first scrape where `name` moved by `at_least` since `before` (a counter moves a moment
    after the row its handler committed shows)."""
    samples: Samples = {}

    def reached() -> bool:
        samples.clear()
        samples.update(scrape(url))
        return moved(before, samples, name, **labels) >= at_least

    wait_for(reached, what=f"{name} {labels} to move by {at_least} in the web's scrape")
    return samples


def published(before: Samples, after: Samples) -> float:
    return sum(
        count - before.get(key, 0.0)
        for key, count in after.items()
        if key[0] == "eventbus_events_published_total"
    )


def sign_in(url: str, email: str, password: str) -> int:
    response = httpx.post(f"{url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10)
    return response.status_code


@pytest.fixture
def platform(transactional_db, log_dir: Path):
    """Web (gunicorn, two workers), worker (prefork, two children) and relay on the default folder."""
    purge_queues()
    env = platform_env()
    web, url = start_web(log_dir, env=env)
    try:
        worker = start_worker(log_dir, env=env)
    except BaseException:
        web.stop()
        raise
    yield url, worker
    worker.stop()
    web.stop()


def publish_probes(probe_id: str, numbers: range) -> None:
    for number in numbers:
        with transaction.atomic():
            publish(ProbeRequested(probe_id=f"{probe_id}-{number}", action="ok"))
    wait_for(
        lambda: ProbeEffect.objects.filter(probe_id__startswith=probe_id).count() == numbers.stop, timeout=60
    )


def test_the_workers_children_and_the_webs_workers_count_what_they_handled(platform, probe_id):
    url, _ = platform
    # given a user
    user = user_register(email="scraped@example.com", password=PASSWORD)
    before = scrape(url)

    # when they sign in through the web four times (once with a wrong password) and six probe
    # events are committed, which the worker's children handle (probe and audit)
    statuses = [sign_in(url, user.email, password) for password in (PASSWORD, "wrong", PASSWORD, PASSWORD)]
    publish_probes(probe_id, range(6))

    # then the web's scrape counts them all, whichever process did the work: the probe events
    # and, in audit, every event the relay sent (the registration's and sign-ins' too)
    probe, audit = {"consumer": "probe"}, {"consumer": "audit"}
    processed = "eventbus_consumer_events_processed_total"
    scrape_until(url, before, processed, 6, **probe)
    wait_for(lambda: not OutboxEvent.objects.exists(), what="the relay to send every event")
    samples = scrape_until(url, before, processed, published(before, scrape(url)), **audit)
    sent = published(before, samples)
    assert statuses == [200, 401, 200, 200]
    assert moved(before, samples, processed, **probe) == 6
    assert moved(before, samples, "eventbus_handler_duration_seconds_count", **probe) == 6
    assert moved(before, samples, "eventbus_commit_to_handled_seconds_count", **probe) == 6
    assert moved(before, samples, "eventbus_commit_to_handled_seconds_bucket", le="+Inf", **probe) == 6
    assert moved(before, samples, "eventbus_events_published_total", type="tests.probe.requested") == 6
    assert moved(before, samples, processed, **audit) == sent > 6
    assert moved(before, samples, "eventbus_commit_to_handled_seconds_count", **audit) == sent
    assert moved(before, samples, "identity_logins_total", outcome="succeeded") == 3
    assert moved(before, samples, "identity_logins_total", outcome="bad_password") == 1
    # and every scrape, whichever web worker answers it, says the same
    succeeded = {moved(before, scrape(url), "identity_logins_total", outcome="succeeded") for _ in range(6)}
    assert succeeded == {3}


def test_what_a_killed_pool_child_counted_stays_in_the_sum(platform, probe_id):
    url, worker = platform
    processed = "eventbus_consumer_events_processed_total"
    # given four probe events handled by the worker's children
    before = scrape(url)
    publish_probes(probe_id, range(4))
    scrape_until(url, before, processed, 4, consumer="probe")

    # when one child is killed, the worker forks another, and four more events are handled
    children = worker.children()
    os.kill(children[0], signal.SIGKILL)
    wait_for(lambda: len(set(worker.children()) - set(children)) == 1, what="the worker to replace its child")
    publish_probes(probe_id, range(4, 8))

    # then the scrape counts the eight, the dead child's four included
    samples = scrape_until(url, before, processed, 8, consumer="probe")
    assert moved(before, samples, processed, consumer="probe") == 8
    assert moved(before, samples, "eventbus_handler_duration_seconds_count", consumer="probe") == 8


def test_a_start_clears_the_counters_of_an_earlier_run_and_keeps_a_running_commands(
    transactional_db, log_dir
):
    # given a process of an earlier run that counted 1000 events and ended, and a child of a
    # command still running (this test's process) that counted 1000 and ended
    count_in_an_ended_process("os.getpid()", consumer="of-an-earlier-run")
    count_in_an_ended_process("f'worker-{os.getppid()}-{os.getpid()}'", consumer="of-a-running-command")

    # when the web starts
    web, url = start_web(log_dir, env=platform_env())
    try:
        samples = scrape(url)
    finally:
        web.stop()

    # then its scrape counts the running command's child only
    processed = "eventbus_consumer_events_processed_total"
    assert value(samples, processed, consumer="of-an-earlier-run") == 0
    assert value(samples, processed, consumer="of-a-running-command") == 1000
