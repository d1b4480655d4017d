"""The report's sections for the parts that measure the pipeline (baselines and drains,
sustained throughput, latency, urgent alerts, audit search, the profile), and the CPU each
process spent per event in a drain, which the targets read too.
"""

from __future__ import annotations

import statistics

from bench.tables import table

CPU_PARTS = ("relay", "worker", "postgresql", "rabbitmq", "total")


def drain_cpu(drain: dict) -> dict[str, float] | None:
    """A drain's CPU per event (µs) for each process, medians of its runs."""
    measured = [run["cpu_us"] for run in drain["runs"] if "cpu_us" in run]
    if not measured:
        return None
    return {name: round(statistics.median(run[name] for run in measured), 1) for name in CPU_PARTS}


def integration_limit(drain: dict) -> str:
    """Integration is sent only what a subscription selects, and its drain has one that selects
    every event: each is a webhook delivery."""
    cpu = drain_cpu(drain)
    measured = (
        f"; CPU per event: relay {cpu['relay']} µs, worker {cpu['worker']} µs, PostgreSQL "
        f"{cpu['postgresql']} µs, RabbitMQ {cpu['rabbitmq']} µs: {cpu['total']} µs in all"
        if cpu
        else ""
    )
    return (
        "every event drained is a webhook delivery (the relay sends integration only what a "
        "subscription selects): its row, a share of a send task (one per 20 deliveries) through the "
        "outbox and the relay, and a signed POST to a receiver on the same cores, one request per "
        f"event{measured}"
    )


def pipeline(r: dict) -> list[str]:
    s = r["summary"]
    noop = s["noop"]["median"]
    batch = s["raw_insert"]["runs"][0].get("batch", 1000)
    names = {
        "noop": "raw Celery no-op tasks",
        "raw_insert": f"PostgreSQL COPY of audit's rows into the audit table, {batch:,} a transaction",
        "raw_insert_100": "PostgreSQL INSERT of the same rows, 100 a transaction",
        "raw_plain_insert": "the same COPY into a table with a primary key only",
        "raw_single_insert": "PostgreSQL single-row INSERT+COMMIT into the audit table",
        "raw_outbox_single_insert": "PostgreSQL single-row INSERT+COMMIT into the outbox table",
        "audit_drain": "outbox → audit (relay + audit worker)",
        "notification_drain": "outbox → notification",
        "integration_drain": "outbox → integration (events recorded as webhook deliveries)",
        "integration_posted": "integration's webhooks, first POST to last (the same drain)",
        "audit_live": "publish() one event per transaction → audit",
    }
    rows = [
        [
            label,
            s[name]["median"],
            s[name]["min"],
            s[name]["max"],
            s[name]["spread"],
            round(s[name]["median"] / noop, 2),
        ]
        for name, label in names.items()
        if name in s
    ]
    lines = [
        f"Medians of {r['sizes']['repeats']} runs after a warm-up; drains of {r['sizes']['drain']} events.",
        "",
    ]
    lines += table(["measure", "events/s (median)", "min", "max", "spread", "÷ no-op"], rows)
    cpu_rows = [
        [consumer, *cpu.values()]
        for consumer in ("audit", "notification", "integration")
        if (cpu := drain_cpu(s[f"{consumer}_drain"]))
    ]
    if cpu_rows:
        lines += [
            "",
            "CPU per event during the drains (µs, from /proc; PostgreSQL's includes the backlog's own "
            "COPY into the outbox, about what a producer's inserts cost):",
            "",
            *table(["drain", "relay", "worker", "PostgreSQL", "RabbitMQ", "in all"], cpu_rows),
        ]
    live = s["audit_live"]["runs"][0]
    audited = s["audit_drain"]["median"]
    lines += [
        "",
        f"Audited events/s ÷ COPY of the same rows into the audit table (issue #6's target, ≥ 0.4): "
        f"{audited / s['raw_insert']['median']:.2f}"
        + (
            f"; ÷ INSERT of the same rows in 100-row transactions (the baseline as the issue describes "
            f"it): {audited / s['raw_insert_100']['median']:.2f}."
            if "raw_insert_100" in s
            else "."
        ),
        "",
        f"`audit_live` is one producer committing one event per transaction (producer at "
        f"{live['producer_rate']}/s), the relay woken by each commit's doorbell: it measures that "
        "producer and its events' way to audit, not the pipeline's throughput.",
    ]
    if r["scale"] and any(r["scale"].values()):
        processes = sorted({int(n) for by in r["scale"].values() for n in by})
        rows = [
            [name, *(by[str(n)]["rate"] if str(n) in by else "" for n in processes)]
            for name, by in r["scale"].items()
        ]
        lines += [
            "",
            f"Scale: drain rate (events/s) by worker processes, {r['sizes']['scale']} events each:",
            "",
        ]
        lines += table(["consumer", *(f"{n} process{'es' if n > 1 else ''}" for n in processes)], rows)
    return lines


def sustained(r: dict) -> list[str]:
    lines = [
        f"All three consumers at once (a worker each, -c 2, notification's on both its lanes; one relay), "
        "the outbox kept stocked, "
        f"{r['sizes']['seconds']} s counted after {r['sizes']['warmup_s']} s of warm-up.",
        "",
    ]
    rows = []
    for source, measured in r["sources"].items():
        for consumer, c in measured["consumers"].items():
            rows.append(
                [
                    source,
                    consumer,
                    c["rate"],
                    c["per_second_median"],
                    c["per_second_min"],
                    c["per_second_max"],
                    c["seconds"],
                ]
            )
    lines += table(
        ["source", "consumer", "events/s", "median second", "min second", "max second", "seconds"], rows
    )
    flows = r["sources"].get("login_flows", {})
    if flows.get("flow"):
        lines += ["", f"One recorded login flow: {', '.join(flows['flow'])}."]
    if flows.get("routed_per_flow"):
        routed = flows["routed_per_flow"]
        lines += [
            "",
            "Login flows per second each consumer got through (its events/s ÷ the events of a flow "
            "routed to it): "
            + ", ".join(
                f"{c} {flows['consumers'][c]['rate'] / n:.1f} ({n:g} events a flow)"
                for c, n in routed.items()
                if n
            )
            + ".",
        ]
        idle = [c for c, n in routed.items() if not n]
        if idle:
            lines += ["", f"Sent none of the mix: {', '.join(idle)} (no webhook subscription in the run)."]
    return lines


def latency_rows(r: dict) -> list[list]:
    rows = []
    for state in ("idle", "behind"):
        measured = r[state]
        label = "idle" if state == "idle" else f"behind {measured['backlog']} events"
        for outcome in ("audit", "notification", "webhook"):
            d = measured[outcome]
            rows.append(
                [
                    outcome,
                    label,
                    f"{d['count']}/{measured['samples']}",
                    d.get("p50_ms"),
                    d.get("p95_ms"),
                    d.get("p99_ms"),
                ]
            )
    return rows


def latency(r: dict) -> list[str]:
    lines = [
        "Commit of a PasswordChanged to its audit entry, its mail at a loopback SMTP server and its "
        "signed webhook at a loopback receiver; a worker per queue, the relay, the fast path.",
        "",
    ]
    return lines + table(["commit →", "state", "arrived", "p50 ms", "p95 ms", "p99 ms"], latency_rows(r))


def alerts(r: dict) -> list[str]:
    rows = [
        [label, f"{m['delivered']}/{m['samples']}", m.get("p50_ms"), m.get("p95_ms"), m.get("p99_ms")]
        for label, m in (
            ("idle", r["idle"]),
            (f"behind {r['behind']['backlog']} routine events", r["behind"]),
        )
    ]
    lines = ["Suspicious login → mail; one worker on notification, one on notification.urgent, a relay.", ""]
    lines += table(["state", "delivered", "p50 ms", "p95 ms", "p99 ms"], rows)
    queued = r["behind"]["routine_messages_queued"]
    lines += [
        "",
        f"p99 behind ÷ idle p99: {r['ratio']} (target ≤ 3). Routine messages (50 events each) queued "
        f"when the first urgent event was committed and after the last: {queued[0]}, {queued[1]}.",
    ]
    return lines


def search(r: dict) -> list[str]:
    names = list(r["levels"][0]["queries"])
    rows = [
        [
            f"{level['entries']:,}",
            level["fill_seconds"],
            *(f"{level['queries'][n]['p50_ms']} / {level['queries'][n]['p95_ms']}" for n in names),
        ]
        for level in r["levels"]
    ]
    lines = [
        f"GET /api/v1/audit/events through gunicorn, p50 / p95 ms of {r['sizes']['repeats']} requests after "
        f"{r['sizes']['warmup']} warm-up ones (50 entries a page); the trail filled with COPY.",
        "",
    ]
    return lines + table(["entries", "fill s", *names], rows)


def _profile_table(side: dict) -> list[str]:
    rows = [[row["function"], f"{row['share']:.1%}", row["us_per_event"]] for row in side["self"]]
    lines = table(["function (self time)", "share", "µs per event"], rows)
    rows = [
        [row["function"], f"{row['share']:.1%}", row["us_per_event"]] for row in side["project_inclusive"]
    ]
    lines += ["", *table(["project function (inclusive)", "share", "µs per event"], rows)]
    rows = [[row["function"], f"{row['share']:.1%}", row["us_per_event"]] for row in side["packages"]]
    return [*lines, "", *table(["package (self time)", "share", "µs per event"], rows)]


def profile(r: dict) -> list[str]:
    lines = [
        f"py-spy at {r['rate_hz']} Hz on the audit worker (parent and prefork children) and the relay while "
        f"audit drained {r['events']} events ({r['rate_while_profiled']}/s while sampled). Time is sampled "
        "time of busy threads, per audited event.",
        "",
    ]
    for side in ("relay", "worker"):
        lines += [
            f"**{side}**: {r[side]['us_per_event']} µs per event in all",
            "",
            *_profile_table(r[side]),
            "",
        ]
    return lines
