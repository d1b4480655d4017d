"""The catalog as data, for the command, the API and the docs: each event with its consumers."""

from __future__ import annotations

from typing import Any

from identity_project.eventbus.catalog import registry
from identity_project.eventbus.consumer_registry import all_consumers


def catalog_entries(source: str = "identity", *, newest_only: bool = True) -> list[dict[str, Any]]:
    """Each event at its newest version; with `newest_only=False`, every version still readable."""
    consumers = all_consumers()
    return [
        {
            "name": cls.__name__,
            "type": cls.type,
            "version": cls.version,
            "aggregate_type": cls.aggregate_type,
            "description": (cls.__doc__ or "").strip(),
            "consumers": sorted(c.name for c in consumers if c.subscribes(cls.type)),
            "schema": cls.json_schema(),
        }
        for cls in registry.events(source, newest_only=newest_only)
    ]
