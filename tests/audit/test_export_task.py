"""A large export is written by a task: POST answers 202 and where to look, the file is fetched
when ready; a failure is recorded; a second delivery of the task writes nothing twice."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry, AuditExport
from audit.services.exports import export_write
from audit.services.ingestion import entries_append
from identity.models import User
from identity_project.eventbus.models import OutboxEvent
from tests.audit.conftest import logged_in
from tests.conftest import purge_queues
from tests.support.processes import service_env, start_worker, wait_for

CREATED = "identity.audit_log.created"


@pytest.fixture
def small_inline_limit(settings, audit_dirs):
    settings.AUDIT = {**settings.AUDIT, "EXPORT_INLINE_ROWS": 3}
    return audit_dirs


def _auditor() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("auditor@example.com", "an-auditor-password"))
    return client


@pytest.mark.django_db(transaction=True)
def test_a_large_export_answers_202_and_is_fetched_once_the_task_wrote_it(small_inline_limit, log_dir):
    # given more entries than an export written in the request may hold
    auditor = _auditor()
    entries_append(envelopes=[logged_in() for _ in range(10)])

    # when the export is asked for, before any worker runs
    started = auditor.post("/api/v1/audit/exports", {"format": "jsonl"}, format="json")
    pending = auditor.get(started["Location"])
    early = auditor.get(f"/api/v1/audit/exports/{started.json()['id']}/download")

    # then it is accepted, pending, and there is nothing to fetch yet
    assert started.status_code == 202, started.json()
    assert started.json()["status"] == pending.json()["status"] == "pending"
    assert started.json()["download"] is None
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "export_not_ready"

    # when the worker (identity queue, with audit consuming the events) has written it
    purge_queues()
    export_dir = small_inline_limit / "exports"
    worker = start_worker(log_dir, queues="identity,audit", env=service_env(AUDIT_EXPORT_DIR=str(export_dir)))
    try:
        wait_for(
            lambda: auditor.get(started["Location"]).json()["status"] != "pending", what="export written"
        )
        wait_for(lambda: AuditEntry.objects.filter(type=CREATED).exists(), what="AuditLogCreated audited")
    finally:
        worker.stop()

    # then it is ready, the file is what was recorded, and its creation is in the trail
    ready = auditor.get(started["Location"]).json()
    assert ready["status"] == "ready", ready
    assert ready["row_count"] == 10
    response = auditor.get(ready["download"])
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert hashlib.sha256(body).hexdigest() == ready["sha256"]
    assert len([json.loads(line) for line in body.decode().splitlines()]) == 10
    assert Path(AuditExport.objects.get().path).parent == export_dir
    audited = AuditEntry.objects.get(type=CREATED)
    assert audited.data["export_id"] == ready["id"]
    assert audited.data["sha256"] == ready["sha256"]


@pytest.mark.django_db
def test_a_small_export_is_still_written_in_the_request(small_inline_limit):
    entries_append(envelopes=[logged_in() for _ in range(3)])

    created = _auditor().post("/api/v1/audit/exports", {"format": "csv"}, format="json")

    assert created.status_code == 201
    assert created.json()["status"] == "ready"
    assert created.json()["row_count"] == 3


@pytest.mark.django_db
def test_the_task_writes_a_pending_export_once_however_often_it_is_delivered(small_inline_limit):
    entries_append(envelopes=[logged_in() for _ in range(4)])
    export = AuditExport.objects.create(
        requested_by=uuid.uuid4(), format="jsonl", status=AuditExport.Status.PENDING, path="", sha256=""
    )

    first = export_write(export_id=export.id)
    again = export_write(export_id=export.id)

    assert first is not None
    assert again is None
    export.refresh_from_db()
    assert (export.status, export.row_count) == (AuditExport.Status.READY, 4)
    assert OutboxEvent.objects.filter(type=CREATED).count() == 1


@pytest.mark.django_db
def test_a_failed_export_is_recorded_and_nothing_is_fetched(small_inline_limit):
    # given a pending export whose filters the task cannot read (written by an older version, say)
    entries_append(envelopes=[logged_in()])
    export = AuditExport.objects.create(
        requested_by=uuid.uuid4(), format="jsonl", status=AuditExport.Status.PENDING, path="", sha256="",
        filters={"since": "not a time"},
    )  # fmt: skip

    export_write(export_id=export.id)

    export.refresh_from_db()
    assert export.status == AuditExport.Status.FAILED
    assert export.error == "ValueError"
    assert not list((small_inline_limit / "exports").glob("*"))
    assert not OutboxEvent.objects.filter(type=CREATED).exists()
    answer = _auditor().get(f"/api/v1/audit/exports/{export.id}/download")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "export_not_ready"
