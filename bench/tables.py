"""What the report's modules share: markdown tables, and a target's row (its goal, what the run
measured, met or by how much it was missed, and what limits it)."""

from __future__ import annotations


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if cell is None else str(cell) for cell in row) + " |" for row in rows]
    return lines


def target(
    name: str, measured: float | None, goal: float, *, at_most: bool = False, unit: str = "x", limit: str = ""
) -> list[dict]:
    """The target's row, or none when the run did not measure it."""
    if measured is None:
        return []
    met = measured <= goal if at_most else measured >= goal
    if met:
        by = ""
    elif goal:
        by = f"{abs(measured - goal) / goal:.0%} {'over' if at_most else 'short'}"
    else:
        by = f"{measured - goal:g}{unit} over"
    return [
        {
            "target": name,
            "goal": f"{'≤' if at_most else '≥'} {goal}{unit}",
            "measured": f"{measured}{unit}",
            "met": met,
            "by": by,
            "limit": "" if met else limit,
        }
    ]
