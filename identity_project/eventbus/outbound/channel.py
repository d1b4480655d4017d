"""A channel: what is its own about sending one record, registered by name.

A channel names its table, its lanes, its retry policy and how one record is sent; the sender
does the rest. A channel's name is also the consumer name its dead letters are stored under,
and replaying one of them sends that event's failed records again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db.models import Q, QuerySet

from identity_project.eventbus.outbound.records import OutboundAttempt, OutboundRecord

# How much longer a lease lasts than an attempt may: an attempt is over (sent, failed or
# killed) when its lease ends, so whoever takes the record over never sends beside it.
LEASE_MARGIN = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_factor: float
    backoff_max: float
    deadline: float  # seconds one attempt may take, all of it: connecting, sending, the answer

    @classmethod
    def configured(cls, config: dict[str, Any], prefix: str) -> RetryPolicy:
        """From an app's settings dict: `{prefix}MAX_ATTEMPTS`, `_BACKOFF_FACTOR`, `_BACKOFF_MAX`
        and `_DEADLINE`, read when asked (a test's override applies at once)."""
        return cls(
            max_attempts=config[f"{prefix}MAX_ATTEMPTS"],
            backoff_factor=config[f"{prefix}BACKOFF_FACTOR"],
            backoff_max=config[f"{prefix}BACKOFF_MAX"],
            deadline=config[f"{prefix}DEADLINE"],
        )

    @property
    def lease(self) -> float:
        return self.deadline + LEASE_MARGIN


@dataclass(frozen=True)
class Defer:
    """Not now, and not by a retry: the record waits pending with `fields` set (a webhook held
    behind its open circuit), and `then` runs once that is written (it schedules the resume)."""

    fields: dict[str, Any] = field(default_factory=dict)
    then: Callable[[], None] | None = None


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. `skipped`: nothing is left to send (a code that expired, an
    account gone); `permanent`: the peer refused for good, no retry; `counted`: False for a try
    that uses none of the retries; `defer`: wait as Defer says instead of a retry."""

    ok: bool
    error: str = ""
    permanent: bool = False
    skipped: bool = False
    status_code: int | None = None
    response_body: str = ""
    counted: bool = True
    defer: Defer | None = None


SENT = Outcome(ok=True)
SEND = "send"
SKIP = "skip"


class Channel:
    name: ClassVar[str]
    model: ClassVar[type[OutboundRecord]]
    attempt_model: ClassVar[type[OutboundAttempt]]
    # The status value a sent record gets (a webhook delivery says "delivered").
    sent_status: ClassVar[str] = "sent"
    # Sent by the worker that committed the record, at once (False: each by a send task).
    send_inline: ClassVar[bool] = True
    # Fields every conclusion but a Defer sets (a webhook delivery is no longer held).
    released: ClassVar[dict[str, Any]] = {}

    def policy(self) -> RetryPolicy:
        raise NotImplementedError

    def queue(self, record: OutboundRecord) -> str:
        """The lane the record's send task goes to."""
        raise NotImplementedError

    def send(self, record: OutboundRecord, *, deadline: float) -> Outcome:
        """Send once, within `deadline` seconds; raise or answer a failed Outcome."""
        raise NotImplementedError

    def records(self) -> QuerySet:
        """The rows of the table this channel sends (a table may hold rows that are never sent,
        such as in-app notices)."""
        return self.model.objects.all()

    def claimable(self) -> Q:
        """Which of them the send task and the sweep may take (not those the channel resumes
        in an order of its own)."""
        return Q()

    def related(self) -> tuple[str, ...]:
        """select_related() for the record an attempt reads."""
        return ()

    def before(self, record: OutboundRecord) -> str | Defer:
        """SEND, SKIP (stale: nothing to send any more) or a Defer, decided once the record is
        claimed and before it is sent."""
        return SEND

    def outcome_of(self, exc: Exception) -> Outcome:
        """The Outcome of an attempt that raised: transient unless the channel knows better."""
        return Outcome(ok=False, error=repr(exc)[:2000])

    def given_up(self, record: OutboundRecord) -> None:
        """After the record failed for good and was dead-lettered."""

    def envelope(self, record: OutboundRecord) -> dict[str, Any]:
        """What the dead letter keeps."""
        return getattr(record, "envelope", None) or {"event_id": str(record.event_id), "type": self.name}

    def describe(self, record: OutboundRecord) -> str:
        """Who the record was for, in a dead letter's error (never an address or a secret)."""
        return f"{self.name} record {record.pk}"


_channels: dict[str, Channel] = {}


def add(channel: Channel) -> None:
    """Known by name from now on (resend.register adds it, with its dead letters' replay)."""
    _channels[channel.name] = channel


def channel_named(name: str) -> Channel:
    return _channels[name]


def channels() -> list[Channel]:
    return list(_channels.values())
