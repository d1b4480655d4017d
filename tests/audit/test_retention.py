"""Retention: expired entries are archived, removed in small batches, and the chain still verifies."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit import chain
from audit.models import AuditCheckpoint, AuditEntry, AuditRetentionRun
from audit.selectors import chain_verify
from audit.services.ingestion import entries_append
from audit.services.retention import retention_apply
from identity_project.celery import app
from tests.audit.conftest import logged_in, mixed_batch, tamper, token_issued

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_batches(settings, audit_dirs):
    settings.AUDIT = {**settings.AUDIT, "RETENTION_BATCH": 7}


def test_expired_token_entries_are_archived_removed_and_checkpointed(small_batches):
    # given 30 entries of three categories, then a month passes (tokens are kept 30 days)
    entries_append(envelopes=mixed_batch(30))
    tokens = list(AuditEntry.objects.filter(category="token").order_by("id").values_list("id", "hash"))
    later = timezone.now() + dt.timedelta(days=31)

    # when retention runs
    run = retention_apply(now=later)

    # then the tokens are gone, archived, and the checkpoint names what was removed
    assert run.status == AuditRetentionRun.Status.SUCCEEDED, run.error
    assert run.outcome["token"]["removed"] == 10
    assert not AuditEntry.objects.filter(category="token").exists()
    assert AuditEntry.objects.count() == 20
    checkpoint = AuditCheckpoint.objects.get(category="token")
    assert (checkpoint.first_id, checkpoint.last_id, checkpoint.count) == (tokens[0][0], tokens[-1][0], 10)
    assert checkpoint.last_hash == tokens[-1][1]
    assert chain.signature_valid(checkpoint.signed_fields(), checkpoint.signature)
    archive = gzip.open(checkpoint.archive_path, "rt").read().splitlines()
    assert [json.loads(line)["id"] for line in archive] == [entry_id for entry_id, _ in tokens]
    with open(checkpoint.archive_path, "rb") as file:
        assert hashlib.sha256(file.read()).hexdigest() == checkpoint.archive_sha256
    assert chain_verify().ok


def test_new_entries_link_to_the_checkpoint_and_the_chain_still_verifies(small_batches):
    entries_append(envelopes=[token_issued() for _ in range(9)])
    retention_apply(now=timezone.now() + dt.timedelta(days=31))

    entries_append(envelopes=[token_issued() for _ in range(3)])

    first = AuditEntry.objects.filter(category="token").order_by("id").first()
    assert first.prev_hash == AuditCheckpoint.objects.get().last_hash
    assert chain_verify().ok
    assert chain_verify().checked == 3


def test_a_forged_checkpoint_is_detected(small_batches):
    entries_append(envelopes=[token_issued() for _ in range(4)])
    retention_apply(now=timezone.now() + dt.timedelta(days=31))
    entries_append(envelopes=[token_issued()])

    AuditCheckpoint.objects.update(count=1)

    result = chain_verify()
    assert result.ok is False
    assert "bad signature" in result.problems[0]


def test_entries_not_yet_expired_stay(small_batches):
    entries_append(envelopes=mixed_batch(9))

    run = retention_apply(now=timezone.now() + dt.timedelta(days=29))

    assert run.status == AuditRetentionRun.Status.SUCCEEDED
    assert AuditEntry.objects.count() == 9
    assert not AuditCheckpoint.objects.exists()


def test_a_broken_chain_is_kept_and_the_run_fails(small_batches):
    entries_append(envelopes=[token_issued() for _ in range(5)] + [logged_in()])
    victim = AuditEntry.objects.filter(category="token").order_by("id")[2]
    tamper("UPDATE audit_auditentry SET data = '{}' WHERE id = %s", [victim.pk])

    run = retention_apply(now=timezone.now() + dt.timedelta(days=31))

    assert run.status == AuditRetentionRun.Status.FAILED
    assert str(victim.pk) in run.error
    assert AuditEntry.objects.filter(category="token").count() == 5


def test_the_daily_task_is_scheduled_and_the_command_runs_it(small_batches, settings, capsys):
    entries_append(envelopes=[token_issued()])

    call_command("audit_retention")

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    schedule = settings.CELERY_BEAT_SCHEDULE["audit-apply-retention"]
    assert schedule["task"] in app.tasks
    assert '"status": "succeeded"' in capsys.readouterr().out
    assert AuditRetentionRun.objects.get().status == AuditRetentionRun.Status.SUCCEEDED
