"""The numbers of a result: percentiles, latency distributions, the median of repeats."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def distribution(milliseconds: list[float]) -> dict:
    """p50/p95/p99 of latencies, and the samples themselves for the plots."""
    if not milliseconds:
        return {"count": 0}
    return {
        "count": len(milliseconds),
        "p50_ms": round(percentile(milliseconds, 0.5), 1),
        "p95_ms": round(percentile(milliseconds, 0.95), 1),
        "p99_ms": round(percentile(milliseconds, 0.99), 1),
        "max_ms": round(max(milliseconds), 1),
        "samples_ms": [round(v, 2) for v in milliseconds],
    }


def summarise(runs: list[dict], key: str = "rate") -> dict:
    """Median of the repeats, with their spread (min, max, and max-min relative to the median)."""
    values = [r[key] for r in runs]
    median = statistics.median(values)
    return {
        "median": round(median, 1),
        "min": min(values),
        "max": max(values),
        "spread": round((max(values) - min(values)) / median, 2) if median else None,
        "runs": runs,
    }
