"""The report's plots (matplotlib): throughput over time, latency distributions, scaling."""

from __future__ import annotations

from pathlib import Path

from bench.harness import RESULTS


def draw(report: dict, folder: Path, suffix: str) -> dict[str, str]:
    """PNG files for the parts this report holds; returns name -> path relative to the results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    results, drawn = report["results"], {}

    def save(figure, name: str) -> None:
        path = folder / f"{name}{suffix}.png"
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
        drawn[name] = str(path.relative_to(RESULTS))

    if "sustained" in results:
        sources = results["sustained"]["sources"]
        figure, axes = plt.subplots(1, len(sources), figsize=(6 * len(sources), 4), squeeze=False)
        for axis, (source, measured) in zip(axes[0], sources.items(), strict=True):
            for consumer, c in measured["consumers"].items():
                axis.plot(range(len(c["timeline"])), c["timeline"], label=consumer)
            axis.set(title=f"sustained, {source}", xlabel="second", ylabel="events handled per second")
            axis.legend()
        save(figure, "throughput")
    if "latency" in results or "alerts" in results:
        figure, axis = plt.subplots(figsize=(8, 5))
        series = []
        if "latency" in results:
            for state in ("idle", "behind"):
                for outcome in ("audit", "notification", "webhook"):
                    series.append(
                        (f"{outcome} {state}", results["latency"][state][outcome].get("samples_ms", []))
                    )
        if "alerts" in results:
            for state in ("idle", "behind"):
                series.append((f"urgent alert {state}", results["alerts"][state].get("samples_ms", [])))
        for label, samples in series:
            if samples:
                ordered = sorted(samples)
                axis.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=label)
        axis.set(
            xscale="log",
            xlabel="ms from commit (log)",
            ylabel="share of samples",
            title="latency distributions",
        )
        axis.legend(fontsize=8)
        save(figure, "latency")
    if "pipeline" in results or "search" in results:
        figure, axes = plt.subplots(1, 2, figsize=(12, 4))
        if "pipeline" in results:
            for name, by in results["pipeline"]["scale"].items():
                if by:
                    processes = sorted(by, key=int)
                    axes[0].plot(
                        [int(n) for n in processes],
                        [by[n]["rate"] for n in processes],
                        marker="o",
                        label=name,
                    )
            axes[0].set(
                xlabel="worker processes",
                ylabel="events/s",
                title="drain rate by worker processes",
                xticks=[1, 2, 4],
            )
            axes[0].legend()
        if "search" in results:
            levels = results["search"]["levels"]
            for query in levels[0]["queries"]:
                axes[1].plot(
                    [lv["entries"] for lv in levels],
                    [lv["queries"][query]["p50_ms"] for lv in levels],
                    marker="o",
                    label=query,
                )
            axes[1].set(
                xscale="log",
                yscale="log",
                xlabel="audit entries",
                ylabel="p50 ms",
                title="audit search latency",
            )
            axes[1].legend()
        save(figure, "scaling")
    return drawn
