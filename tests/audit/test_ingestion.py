"""Batches through a real worker (two prefork processes) keep every chain whole; replays change nothing."""

from __future__ import annotations

import pytest

from audit.consumer import audit
from audit.models import AuditEntry
from audit.selectors import chain_verify
from identity_project.eventbus.models import ProcessedEvent
from operations import pipeline
from tests.audit.conftest import logged_in, mixed_batch
from tests.support.processes import wait_for
from tests.test_metrics import moved, scrape

PROCESSED = "eventbus_consumer_events_processed_total"


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_keep_the_chains_whole_and_a_replay_adds_nothing(worker):
    # given twenty batches of fifty events, taken by two worker processes at once
    batches = [mixed_batch(50) for _ in range(20)]
    for batch in batches:
        audit.task.apply_async(args=(batch,), queue="audit")
    wait_for(lambda: AuditEntry.objects.count() == 1000, timeout=90, what="1000 audit entries")

    # when the first batch comes again, with one new event riding along
    before = scrape()
    newcomer = logged_in()
    audit.task.apply_async(args=([*batches[0], newcomer],), queue="audit")
    wait_for(
        lambda: AuditEntry.objects.filter(event_id=newcomer["event_id"]).exists(), timeout=60, what="newcomer"
    )
    # (the worker counts right after its commit, a moment after the row shows)
    wait_for(lambda: moved(before, scrape(), PROCESSED, consumer="audit") >= 1, what="the worker's counter")

    # then each event is stored once and every chain verifies
    result = chain_verify()
    assert AuditEntry.objects.count() == 1001
    assert (result.ok, result.checked, result.problems) == (True, 1001, [])
    # and the entries are audit's record of what it handled: it claims nothing, the pipeline
    # page counts them, and the metrics count the replayed events once
    assert not ProcessedEvent.objects.filter(consumer="audit").exists()
    assert pipeline.snapshot()["consumers"]["audit"]["processed_last_hour"] == 1001
    assert moved(before, scrape(), PROCESSED, consumer="audit") == 1  # the newcomer alone
