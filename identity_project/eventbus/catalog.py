"""Event classes, their registry, JSON Schemas and upcasters: the catalog machinery, no domain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Literal, dataclass_transform, get_args, get_origin, get_type_hints

import fastjsonschema


class CatalogError(Exception):
    """The catalog is inconsistent (a duplicate type, an unknown type or version)."""


class SchemaViolation(Exception):
    """Data that breaks its event's JSON Schema."""


@dataclass_transform(frozen_default=True, kw_only_default=True)
class Event:
    """A fact that happened, as a frozen, typed payload.

    Subclasses declare their contract in the class statement and their payload as fields:

        class UserRegistered(Event, type="identity.user.registered", aggregate="user"):
            '''A new account exists.'''
            user_id: uuid.UUID
            email: str
            method: Literal["self", "admin", "import"]

    `aggregate` names the aggregate type; `aggregate_key` (default `<aggregate>_id`) is the
    field holding its id. A null id (a failed login for an unknown e-mail) makes the event its
    own aggregate. Fields may be str, int, float, bool, uuid.UUID, datetime, Literal[...],
    list[...], dict[str, Any] and `X | None`; the JSON Schema is derived from them.
    """

    type: ClassVar[str]
    version: ClassVar[int]
    source: ClassVar[str]
    aggregate_type: ClassVar[str]
    aggregate_key: ClassVar[str]

    def __init_subclass__(
        cls,
        *,
        type: str,
        aggregate: str,
        aggregate_key: str | None = None,
        version: int = 1,
        source: str = "identity",
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.type = type
        cls.version = version
        cls.source = source
        cls.aggregate_type = aggregate
        cls.aggregate_key = aggregate_key or f"{aggregate}_id"
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        if cls.aggregate_key not in {f.name for f in dataclasses.fields(cls)}:
            raise CatalogError(f"{cls.__name__} has no field {cls.aggregate_key!r} for its aggregate")
        registry.register(cls)

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        return registry.schema_of(cls)

    def aggregate_id(self) -> str | None:
        value = getattr(self, self.aggregate_key)
        return None if value is None else str(value)

    def to_data(self) -> dict[str, Any]:
        """The payload as JSON-ready values, field by field (never a dump of a model)."""
        return {f.name: _to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Event:
        """Rebuild a typed event from validated JSON data."""
        hints = _hints(cls)
        return cls(**{name: _from_json(hints[name], data.get(name)) for name in hints})


def _hints(cls: type) -> dict[str, Any]:
    cached = cls.__dict__.get("_eventbus_hints")
    if cached is None:
        cached = get_type_hints(cls)
        cached = {f.name: cached[f.name] for f in dataclasses.fields(cls)}
        cls._eventbus_hints = cached
    return cached


def _to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


def _from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    hint = _strip_optional(hint)
    if hint is uuid.UUID:
        return uuid.UUID(value) if isinstance(value, str) else value
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return value


def _strip_optional(hint: Any) -> Any:
    if get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _schema_of_hint(hint: Any) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_schema_of_hint(a) for a in get_args(hint)]
        return {"anyOf": options}
    if hint is type(None):
        return {"type": "null"}
    if origin is Literal:
        return {"enum": list(get_args(hint))}
    if origin in (list, tuple):
        (item,) = get_args(hint)[:1] or (Any,)
        return {"type": "array", "items": _schema_of_hint(item)}
    if origin is dict or hint is dict:
        return {"type": "object"}
    simple = {
        str: {"type": "string"},
        int: {"type": "integer"},
        float: {"type": "number"},
        bool: {"type": "boolean"},
        uuid.UUID: {"type": "string", "format": "uuid"},
        dt.datetime: {"type": "string", "format": "date-time"},
        Any: {},
    }
    if hint in simple:
        return dict(simple[hint])
    raise CatalogError(f"no JSON Schema for the field type {hint!r}")


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Registry:
    """Every event class by (type, version), with schemas, validators and upcasters."""

    def __init__(self) -> None:
        self._classes: dict[tuple[str, int], type[Event]] = {}
        self._schemas: dict[type[Event], dict[str, Any]] = {}
        self._validators: dict[type[Event], Callable[[dict[str, Any]], Any]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[Event]) -> None:
        key = (cls.type, cls.version)
        known = self._classes.get(key)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise CatalogError(f"{cls.type} v{cls.version} is defined twice")
        self._classes[key] = cls

    def upcaster(self, type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning `data` of `from_version` into `from_version + 1`."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(type, from_version)] = fn
            return fn

        return decorate

    def lookup(self, type: str, version: int) -> type[Event]:
        try:
            return self._classes[(type, version)]
        except KeyError:
            raise CatalogError(f"unknown event {type} v{version}") from None

    def latest(self, type: str) -> type[Event]:
        versions = [v for (t, v) in self._classes if t == type]
        if not versions:
            raise CatalogError(f"unknown event type {type}")
        return self._classes[(type, max(versions))]

    def upcast(self, type: str, version: int, data: dict[str, Any]) -> tuple[type[Event], dict[str, Any]]:
        """Bring `data` of any readable version up to the newest class of its type."""
        self.lookup(type, version)
        target = self.latest(type).version
        while version < target:
            step = self._upcasters.get((type, version))
            if step is None:
                raise CatalogError(f"no upcaster from {type} v{version}")
            data, version = step(data), version + 1
        return self.lookup(type, version), data

    def schema_of(self, cls: type[Event]) -> dict[str, Any]:
        schema = self._schemas.get(cls)
        if schema is None:
            hints = _hints(cls)
            schema = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"urn:event:{cls.type}:v{cls.version}",
                "title": cls.__name__,
                "description": (cls.__doc__ or "").strip(),
                "type": "object",
                "properties": {name: _schema_of_hint(hint) for name, hint in hints.items()},
                "required": list(hints),
                "additionalProperties": False,
            }
            self._schemas[cls] = schema
        return schema

    def validate(self, cls: type[Event], data: dict[str, Any]) -> None:
        """Raise SchemaViolation when `data` breaks the class's schema (formats uuid and date-time
        included). Validators are compiled once (fastjsonschema): this runs for every event, at
        publish and again in every consumer."""
        validator = self._validators.get(cls)
        if validator is None:
            validator = fastjsonschema.compile(self.schema_of(cls))
            self._validators[cls] = validator
        try:
            validator(data)
        except fastjsonschema.JsonSchemaException as exc:
            raise SchemaViolation(exc.message) from None

    def __len__(self) -> int:
        return len(self._classes)

    def events(self, source: str | None = None, *, newest_only: bool = False) -> Iterator[type[Event]]:
        """Every registered class, or with `newest_only` only the newest version of each type."""
        for (type, _), cls in sorted(self._classes.items()):
            if source is not None and cls.source != source:
                continue
            if not newest_only or self.latest(type) is cls:
                yield cls


registry = Registry()
