"""Who and what caused the events being published now: actor, correlation and causation ids."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

import structlog

ActorType = Literal["user", "admin", "system", "anonymous"]


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"type": self.type, "id": self.id}


SYSTEM = Actor("system")
ANONYMOUS = Actor("anonymous")

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_actor: ContextVar[Actor | None] = ContextVar("actor", default=None)
_causation_id: ContextVar[uuid.UUID | None] = ContextVar("causation_id", default=None)


def current_correlation_id() -> str:
    """The id shared by every event of this request or task; a fresh one outside of both."""
    value = _correlation_id.get()
    if value is None:
        value = new_correlation_id()
        _correlation_id.set(value)
    return value


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_actor() -> Actor:
    return _actor.get() or SYSTEM


def current_causation_id() -> uuid.UUID | None:
    return _causation_id.get()


def set_actor(actor: Actor) -> None:
    """Name who is acting for the rest of this context (set once a request is authenticated)."""
    _actor.set(actor)


@contextlib.contextmanager
def event_context(
    *,
    correlation_id: str | None = None,
    actor: Actor | None = None,
    causation_id: uuid.UUID | None = None,
) -> Iterator[None]:
    """Scope a request, task or command: events published inside share these values."""
    tokens = [
        (_correlation_id, _correlation_id.set(correlation_id or new_correlation_id())),
        (_actor, _actor.set(actor)),
        (_causation_id, _causation_id.set(causation_id)),
    ]
    with structlog.contextvars.bound_contextvars(correlation_id=_correlation_id.get()):
        try:
            yield
        finally:
            for var, token in reversed(tokens):
                var.reset(token)
