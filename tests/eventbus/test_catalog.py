"""The catalog: the command's outputs, schemas, validation at publish, sequences and upcasting."""

from __future__ import annotations

import json
import uuid
from io import StringIO
from typing import Literal

import jsonschema
import pytest
from django.core.management import call_command
from django.db import transaction

from identity import events
from identity_project.eventbus.catalog import CatalogError, Event, registry
from identity_project.eventbus.envelope import EnvelopeInvalid, decode
from identity_project.eventbus.models import AggregateSequence, OutboxEvent
from identity_project.eventbus.publisher import EventInvalid, publish, publish_all


class SampleV1(Event, type="tests.sample.changed", aggregate="sample", source="tests"):
    """A sample event, first version."""

    sample_id: str
    colour: str


class SampleV2(Event, type="tests.sample.changed", aggregate="sample", version=2, source="tests"):
    """A sample event, second version: the colour became an enumeration and gained a shade."""

    sample_id: str
    colour: Literal["red", "blue"]
    shade: int


@registry.upcaster("tests.sample.changed", from_version=1)
def _sample_v1_to_v2(data: dict) -> dict:
    return {**data, "colour": data["colour"].lower(), "shade": 0}


def test_event_catalog_json_lists_the_67_events_at_their_newest_version():
    out = StringIO()

    call_command("event_catalog", "--json", stdout=out)

    catalog = json.loads(out.getvalue())
    assert len(catalog) == 67
    newest = registry.events("identity", newest_only=True)
    assert {e["name"] for e in catalog} == {cls.__name__ for cls in newest}
    registered = next(e for e in catalog if e["name"] == "UserRegistered")
    assert registered["type"] == "identity.user.registered"
    assert registered["version"] == 1
    assert "audit" in registered["consumers"]
    assert registered["schema"]["required"] == ["user_id", "email", "method"]
    logged_in = next(e for e in catalog if e["name"] == "UserLoggedIn")
    assert logged_in["version"] == 2
    assert logged_in["schema"]["properties"]["door"] == {"enum": ["api", "admin_site"]}


def test_event_catalog_exports_one_valid_json_schema_per_event_version(tmp_path):
    call_command("event_catalog", "--json-schema", str(tmp_path), stdout=StringIO())

    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 67 + 4  # the four events contract v2 changed keep their v1 schema
    for path in files:
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
    assert (tmp_path / "identity.token_family.revoked.v1.json").exists()
    assert {"identity.user.logged_in.v1.json", "identity.user.logged_in.v2.json"} <= {p.name for p in files}


@pytest.mark.django_db
def test_publishing_data_that_breaks_the_schema_is_refused_and_writes_nothing():
    bad = events.UserRegistered(user_id=uuid.uuid4(), email="a@example.com", method="carrier-pigeon")

    with pytest.raises(EventInvalid, match="method must be one of"):
        publish(bad)

    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_sequences_are_per_aggregate_without_gaps_even_when_a_savepoint_rolls_back():
    user_a, user_b = uuid.uuid4(), uuid.uuid4()

    with transaction.atomic():
        publish(events.UserUpdated(user_id=user_a, changed_fields=["email"]))
        with transaction.atomic():
            publish(events.UserUpdated(user_id=user_a, changed_fields=["full_name"]))
            transaction.set_rollback(True)
        publish(events.UserUpdated(user_id=user_b, changed_fields=["email"]))
        publish(events.UserUpdated(user_id=user_a, changed_fields=["is_staff"]))

    rows = OutboxEvent.objects.order_by("id").values_list("aggregate_id", "sequence")
    assert list(rows) == [(str(user_a), 1), (str(user_b), 1), (str(user_a), 2)]
    assert AggregateSequence.objects.get(aggregate_id=str(user_a)).last_sequence == 2


@pytest.mark.django_db
def test_the_events_of_one_change_are_numbered_per_aggregate_in_their_order_rows_and_envelopes_alike():
    user_a, user_b = uuid.uuid4(), uuid.uuid4()
    publish(events.UserUpdated(user_id=user_a, changed_fields=["email"]))
    stranger = events.UserLoginFailed(
        user_id=None, email_attempted="nobody@example.com", ip_address="192.0.2.1", user_agent="curl",
        reason="unknown_user", door="api",
    )  # fmt: skip

    with transaction.atomic():
        returned = publish_all(
            [
                events.UserUpdated(user_id=user_b, changed_fields=["email"]),
                events.UserUpdated(user_id=user_a, changed_fields=["full_name"]),
                stranger,
                events.UserUpdated(user_id=user_a, changed_fields=["is_staff"]),
                events.UserUpdated(user_id=user_b, changed_fields=["full_name"]),
            ]
        )

    rows = OutboxEvent.objects.order_by("id").values_list("event_id", "aggregate_id", "sequence", "envelope")
    stored = [(str(event_id), aggregate_id, sequence) for event_id, aggregate_id, sequence, _ in rows]
    assert [aggregate_id for _, aggregate_id, _ in stored][1:] == [
        str(user_b),
        str(user_a),
        returned[2]["event_id"],
        str(user_a),
        str(user_b),
    ]
    assert [sequence for _, _, sequence in stored] == [1, 1, 2, 1, 3, 2]
    assert [envelope["sequence"] for *_, envelope in rows] == [sequence for *_, sequence in stored]
    assert [(e["event_id"], e["aggregate_id"], e["sequence"]) for e in returned] == stored[1:]
    sequences = dict(AggregateSequence.objects.values_list("aggregate_id", "last_sequence"))
    assert sequences == {str(user_a): 3, str(user_b): 2}


@pytest.mark.django_db
def test_an_event_without_an_aggregate_id_is_its_own_aggregate():
    envelope = publish(
        events.UserLoginFailed(
            user_id=None,
            email_attempted="nobody@example.com",
            ip_address="192.0.2.1",
            user_agent="curl",
            reason="unknown_user",
            door="api",
        )
    )

    assert (envelope["aggregate_id"], envelope["sequence"]) == (envelope["event_id"], 1)
    assert not AggregateSequence.objects.exists()


@pytest.mark.django_db
def test_the_envelope_carries_actor_correlation_and_no_secret_fields():
    envelope = publish(events.UserRegistered(user_id=uuid.uuid4(), email="a@example.com", method="self"))

    assert set(envelope) == {
        "event_id", "type", "version", "source", "occurred_at", "aggregate_type", "aggregate_id",
        "sequence", "actor", "correlation_id", "causation_id", "data",
    }  # fmt: skip
    assert envelope["actor"] == {"type": "system", "id": None}
    assert envelope["occurred_at"].endswith("Z")
    assert decode(envelope).event == events.UserRegistered.from_data(envelope["data"])


@pytest.mark.django_db
def test_an_old_version_is_upcast_before_handlers_see_it():
    with transaction.atomic():
        envelope = publish(SampleV1(sample_id="s1", colour="RED"))

    delivered = decode(envelope)

    assert envelope["version"] == 1
    assert delivered.event == SampleV2(sample_id="s1", colour="red", shade=0)


def test_decoding_refuses_unknown_versions_and_invalid_data():
    valid = {
        "event_id": str(uuid.uuid4()), "type": "tests.sample.changed", "version": 2, "source": "tests",
        "occurred_at": "2026-01-01T00:00:00Z", "aggregate_type": "sample", "aggregate_id": "s1",
        "sequence": 1, "actor": {"type": "system", "id": None}, "correlation_id": "c",
        "causation_id": None, "data": {"sample_id": "s1", "colour": "blue", "shade": 1},
    }  # fmt: skip
    assert decode(valid).event.shade == 1

    for broken in (
        {"version": 3},
        {"data": {"sample_id": "s1", "colour": "green", "shade": 1}},
        {"extra": 1},
    ):
        with pytest.raises(EnvelopeInvalid):
            decode({**valid, **broken})


def test_an_event_type_cannot_be_defined_twice():
    with pytest.raises(CatalogError):

        class Duplicate(Event, type="identity.user.registered", aggregate="user"):
            user_id: str
