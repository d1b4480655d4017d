"""The audit log is append-only and tamper-evident: hash chains, the trigger, verification."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit import chain
from audit.models import AuditEntry, AuditEntryImmutable
from audit.selectors import chain_verify
from audit.services.ingestion import entries_append
from tests.audit.conftest import logged_in, mixed_batch, tamper

pytestmark = pytest.mark.django_db


def test_each_category_is_a_chain_from_genesis(stored):
    entries = list(AuditEntry.objects.order_by("id"))

    heads: dict[str, str] = {}
    for entry in entries:
        assert entry.prev_hash == heads.get(entry.category, chain.GENESIS)
        heads[entry.category] = entry.hash
    assert set(heads) == {"authentication", "token", "security"}
    assert chain_verify().ok
    assert chain_verify().checked == 30


def test_a_changed_entry_is_detected_and_named(stored, auditor):
    victim = AuditEntry.objects.filter(category="token").order_by("id")[4]

    tamper("UPDATE audit_auditentry SET data = %s WHERE id = %s", ['{"user_id": "someone-else"}', victim.pk])

    result = chain_verify()
    answer = auditor.get("/api/v1/audit/verify")
    assert (result.ok, result.first_bad_id) == (False, victim.pk)
    assert answer.status_code == 200
    assert answer.json()["ok"] is False
    assert answer.json()["first_bad_id"] == victim.pk


def test_a_removed_entry_is_detected_at_the_entry_after_it(stored):
    token_entries = list(AuditEntry.objects.filter(category="token").order_by("id"))

    tamper("DELETE FROM audit_auditentry WHERE id = %s", [token_entries[3].pk])

    result = chain_verify()
    assert (result.ok, result.first_bad_id) == (False, token_entries[4].pk)


def test_removing_the_newest_entries_is_detected_by_the_signed_head(stored):
    newest = AuditEntry.objects.filter(category="security").order_by("-id")[0]

    tamper("DELETE FROM audit_auditentry WHERE id = %s", [newest.pk])

    result = chain_verify()
    assert (result.ok, result.first_bad_id) == (False, newest.pk)


def test_removing_a_whole_category_is_detected(stored):
    newest = AuditEntry.objects.filter(category="token").order_by("-id")[0]

    tamper("DELETE FROM audit_auditentry WHERE category = 'token'", [])

    result = chain_verify()
    assert (result.ok, result.first_bad_id) == (False, newest.pk)


def test_a_range_is_verified_against_the_entry_before_it(stored):
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    tamper("UPDATE audit_auditentry SET type = 'identity.user.updated' WHERE id = %s", [ids[2]])

    before = chain_verify(first_id=ids[10], last_id=ids[19])
    including = chain_verify(first_id=ids[0], last_id=ids[9])

    assert (before.ok, before.checked) == (True, 10)
    assert (including.ok, including.first_bad_id) == (False, ids[2])


def test_audit_verify_command_fails_on_a_broken_chain(stored, capsys):
    call_command("audit_verify")
    assert '"ok": true' in capsys.readouterr().out

    entry = AuditEntry.objects.order_by("id").first()
    tamper("UPDATE audit_auditentry SET actor_id = 'mallory' WHERE id = %s", [entry.pk])

    with pytest.raises(CommandError, match=str(entry.pk)):
        call_command("audit_verify")


def test_the_orm_refuses_updates_and_deletes(stored):
    entry = AuditEntry.objects.first()

    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(type="x")
    with pytest.raises(AuditEntryImmutable):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AuditEntryImmutable):
        entry.save()
    with pytest.raises(AuditEntryImmutable):
        entry.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_auditentry SET type = 'x' WHERE id = %s", "DELETE FROM audit_auditentry WHERE id = %s"],
)
def test_the_trigger_refuses_update_and_delete_in_sql(stored, sql):
    entry = AuditEntry.objects.order_by("id").first()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])

    assert AuditEntry.objects.get(pk=entry.pk).type == entry.type


def test_replaying_a_batch_leaves_one_entry_per_event():
    batch = mixed_batch(12)

    first = entries_append(envelopes=batch)
    again = entries_append(envelopes=[*batch[5:], *batch[:5], batch[0]])

    assert (len(first), len(again)) == (12, 0)
    assert AuditEntry.objects.count() == 12
    assert chain_verify().ok


def test_entries_carry_the_search_columns():
    user_id = "0b6f3c5e-1111-4e7e-9a53-2d9a1b2c3d4e"
    entries_append(envelopes=[logged_in(user_id=user_id)])

    entry = AuditEntry.objects.get()
    assert (entry.user_id, entry.category, entry.severity) == (user_id, "authentication", "low")


def test_the_verify_api_takes_a_range_and_needs_its_permission(stored, auditor, nobody):
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))

    ranged = auditor.get("/api/v1/audit/verify", {"from_id": ids[5], "to_id": ids[14]})
    bad = auditor.get("/api/v1/audit/verify", {"from_id": "first"})
    refused = nobody.get("/api/v1/audit/verify")

    assert ranged.json() == {"ok": True, "checked": 10, "first_bad_id": None, "problems": []}
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"].keys() == {"from_id"}
    assert refused.status_code == 403
