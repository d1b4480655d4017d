"""The periodic sweeps' one way of working through due rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import models, transaction


def each_due(
    due: models.QuerySet,
    expire: Callable[[models.Model], None],
    *,
    limit: int = 1000,
    candidates: Sequence | None = None,
) -> int:
    """Apply `expire` to each due row in a short transaction of its own, skipping rows another
    sweep holds and rows that stopped being due meanwhile. Returns how many were expired.
    `candidates` are the ids to try when the sweep finds them with indexed queries of its own
    (`due` is then only what each row is checked against again, under its lock)."""
    count = 0
    if candidates is None:
        candidates = list(due.values_list("pk", flat=True)[:limit])
    for pk in candidates[:limit]:
        with transaction.atomic():
            row = due.select_for_update(skip_locked=True).filter(pk=pk).first()
            if row is not None:
                expire(row)
                count += 1
    return count
