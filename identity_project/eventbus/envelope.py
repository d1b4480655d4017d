"""The envelope every event travels in (EVENTS.md), and its decoding on the consumer side."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from identity_project.eventbus.catalog import CatalogError, Event, SchemaViolation, registry
from identity_project.eventbus.context import Actor

ENVELOPE_FIELDS = (
    "event_id",
    "type",
    "version",
    "source",
    "occurred_at",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "actor",
    "correlation_id",
    "causation_id",
    "data",
)


class EnvelopeInvalid(Exception):
    """An envelope that no retry can fix: malformed, unknown type or version, invalid data."""


def build(
    event: Event,
    *,
    data: dict[str, Any] | None = None,
    event_id: uuid.UUID,
    aggregate_id: str,
    sequence: int,
    actor: Actor,
    correlation_id: str,
    causation_id: uuid.UUID | None,
    occurred_at: dt.datetime,
) -> dict[str, Any]:
    return {
        "event_id": str(event_id),
        "type": event.type,
        "version": event.version,
        "source": event.source,
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "aggregate_type": event.aggregate_type,
        "aggregate_id": aggregate_id,
        "sequence": sequence,
        "actor": actor.to_dict(),
        "correlation_id": correlation_id,
        "causation_id": str(causation_id) if causation_id else None,
        "data": event.to_data() if data is None else data,
    }


@dataclass(frozen=True)
class Delivered:
    """An event as a consumer's handler receives it: the typed event, its envelope, the attempt.

    `envelope` is at the newest version of its type, `data` upcast (what handlers read and pass
    on, webhooks included); `published` is the envelope as it was published, older version and
    all (what the audit trail keeps, and what a retry or a dead letter carries).

    The typed event is built on first use from data already checked against its schema: the audit
    consumer stores envelopes and never needs it, at thousands of events a second."""

    event_class: type[Event]
    data: dict[str, Any]
    envelope: dict[str, Any]
    published: dict[str, Any]
    attempt: int = 0

    @cached_property
    def event(self) -> Event:
        return self.event_class.from_data(self.data)

    @cached_property
    def event_id(self) -> uuid.UUID:
        """Parsed once: the consumer base reads it several times per event."""
        return uuid.UUID(self.envelope["event_id"])

    @property
    def correlation_id(self) -> str:
        return self.envelope["correlation_id"]

    @property
    def sequence(self) -> int:
        return self.envelope["sequence"]

    @property
    def occurred_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.envelope["occurred_at"])


def envelope_event_id(raw: Any) -> uuid.UUID | None:
    """The event id of a possibly broken envelope, when it has a readable one."""
    try:
        return uuid.UUID(str(raw["event_id"]))
    except (TypeError, KeyError, ValueError):
        return None


def decode(raw: Any, *, attempt: int = 0) -> Delivered:
    """Check an envelope against the catalog, upcast its data to the newest version."""
    if not isinstance(raw, dict) or set(raw) != set(ENVELOPE_FIELDS):
        raise EnvelopeInvalid("the envelope does not have exactly the fields of EVENTS.md")
    if envelope_event_id(raw) is None:
        raise EnvelopeInvalid("event_id is not a UUID")
    if not isinstance(raw["version"], int) or not isinstance(raw["data"], dict):
        raise EnvelopeInvalid("version must be an integer and data an object")
    try:
        cls = registry.lookup(raw["type"], raw["version"])
        registry.validate(cls, raw["data"])
        cls, data = registry.upcast(raw["type"], raw["version"], raw["data"])
    except CatalogError as exc:
        raise EnvelopeInvalid(str(exc)) from exc
    except SchemaViolation as exc:
        raise EnvelopeInvalid(f"data does not match {raw['type']} v{raw['version']}: {exc}") from exc
    envelope = raw if cls.version == raw["version"] else {**raw, "version": cls.version, "data": data}
    return Delivered(event_class=cls, data=data, envelope=envelope, published=raw, attempt=attempt)
