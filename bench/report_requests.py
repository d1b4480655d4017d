"""The report's targets and sections for the parts that measure requests (logins, refreshes,
alarm). What limits a missed target is said from what the run measured: the CPU each process
spent per request (cpu.py, from /proc) against the time a request took, the failures and the
events held up by the alarm.
"""

from __future__ import annotations

from bench.tables import table, target

CPU = {"web": "gunicorn", "relay": "relay", "workers": "workers", "postgresql": "PostgreSQL",
       "rabbitmq": "RabbitMQ", "clients": "clients"}  # fmt: skip
WORKERS = 2  # gunicorn's sync workers (launch.start_web)


def _cpu(measured: dict) -> str:
    c = measured["cpu_ms"]
    return ", ".join(f"{label} {c[name]}" for name, label in CPU.items()) + f" ms: {c['total']} ms in all"


def rate_limit(measured: dict, cores: int, what: str) -> str:
    """Whether CPU bounds a rate: the CPU per request of each process, the ceiling it sets on these
    cores and how busy they were; and how much of the time a gunicorn worker held a request (its
    clients outnumber its workers) was spent on its CPU."""
    total, web, rate = measured["cpu_ms"]["total"], measured["cpu_ms"]["web"], measured["rate"]
    busy = rate * total / 1000 / cores
    held = WORKERS * 1000 / measured["client_rate"] if measured["client_rate"] else 0
    return (
        f"CPU per {what}, its events' delivery and consumption included: {_cpu(measured)}, at most "
        f"~{cores * 1000 / total:.0f}/s on {cores} cores, which were {busy:.0%} busy at {rate}/s; each of "
        f"gunicorn's {WORKERS} workers held a {what} {held:.0f} ms, {web} ms of it on its CPU"
    )


def latency_limit(measured: dict, what: str, *, hash_ms: float | None = None) -> str:
    """Where one request's time goes, alone: its p50 against gunicorn's CPU per request."""
    p50 = measured["latency"]["p50_ms"]
    hashed = f" (the bare hash {hash_ms} ms)" if hash_ms else ""
    return (
        f"one {what} alone: p50 {p50} ms{hashed}, of which gunicorn's CPU {measured['cpu_ms']['web']} ms; "
        f"CPU per {what}, its events' delivery and consumption included: {_cpu(measured)}"
    )


def targets(results: dict, cores: int) -> list[dict]:
    rows = []
    logins = results.get("logins")
    if logins:
        django, keycloak = logins["hashers"]["django"], logins["hashers"]["keycloak"]
        rows += target(
            "logins/s ÷ password checks/s (Django's Argon2)",
            django["ratio"],
            0.7,
            limit=rate_limit(django["login"], cores, "login"),
        )
        rows += target(
            "logins/s per core at Keycloak's Argon2 cost",
            keycloak["per_core"],
            30,
            unit="/s",
            limit=rate_limit(keycloak["login"], cores, "login"),
        )
        alone, hash_ms = keycloak.get("alone"), keycloak.get("hash_ms")
        if alone and hash_ms and alone["latency"].get("p50_ms"):
            rows += target(
                "one sign-in p50 ÷ bare hash time (Keycloak's Argon2)",
                round(alone["latency"]["p50_ms"] / hash_ms, 2),
                2.5,
                at_most=True,
                limit=latency_limit(alone, "sign-in", hash_ms=hash_ms),
            )
    refreshes = results.get("refreshes")
    if refreshes:
        rows += target(
            "refreshes/s per core",
            refreshes["per_core"],
            240,
            unit="/s",
            limit=rate_limit(refreshes["rate"], cores, "refresh"),
        )
        rows += target(
            "one refresh p50",
            refreshes["alone"]["latency"].get("p50_ms"),
            8,
            at_most=True,
            unit=" ms",
            limit=latency_limit(refreshes["alone"], "refresh"),
        )
    alarm = results.get("alarm")
    if alarm:
        rows += target(
            "sign-up/sign-in p99 with the broker's memory alarm ÷ without",
            alarm["ratio"],
            2,
            at_most=True,
            limit=_alarm_limit(alarm),
        )
        events = alarm["events"]
        rows += target(
            "events lost after the alarm",
            events["lost"],
            0,
            at_most=True,
            unit="",
            limit=f"{events['lost']} of {events['committed']} committed events had no audit entry "
            f"{alarm['sizes']['settle_s']:.0f} s after the web stopped; "
            f"{events['undispatched']} never left the outbox",
        )
    return rows


def _alarm_limit(alarm: dict) -> str:
    phase, events = alarm["alarm"], alarm["events"]
    failed = sum(kind["failed"] for kind in phase.values())
    sent = sum(kind["count"] for kind in phase.values())
    return (
        f"under the alarm {failed} of {sent} requests had no answer within "
        f"{alarm['sizes']['timeout_s']:.0f} s, though {events['committed_with_alarm']} events were "
        f"committed meanwhile (and {events['committed_after_clearing']} after the clearing, by requests "
        "still under way): a request waits on the broker after its commit"
    )


# --- sections -------------------------------------------------------------------------------


def _cpu_rows(runs: dict[str, dict]) -> list[list]:
    return [[label, *(m["cpu_ms"][name] for name in (*CPU, "total"))] for label, m in runs.items()]


def _cpu_table(runs: dict[str, dict], what: str) -> list[str]:
    return [
        "",
        f"CPU per {what} (ms, from /proc), from the first request until its events were consumed:",
        "",
        *table(["run", *CPU.values(), "in all"], _cpu_rows(runs)),
    ]


def logins(r: dict) -> list[str]:
    rows = [
        [hasher, m["hash_rate"], m["login"]["rate"], m["login"]["client_rate"], m["ratio"], m["per_core"],
         m["login"]["latency"].get("p50_ms"), m["login"]["failed"]]
        for hasher, m in r["hashers"].items()
    ]  # fmt: skip
    lines = [
        f"{r['seconds']:.0f} s each; gunicorn 2 sync workers, {r['clients']} client threads, the relay and "
        f"the consumers' workers, on the same {r['cores']} cores; logins/s count until their events were "
        "consumed (the client's own rate stops at its last answer); password checks with one process "
        "per core.",
        "",
        *table(
            ["hasher", "password checks/s", "logins/s", "client's logins/s", "ratio", "logins/s per core",
             "p50 ms", "failed"],
            rows,
        ),
    ]  # fmt: skip
    runs = {f"{hasher}, {r['clients']} clients": m["login"] for hasher, m in r["hashers"].items()}
    keycloak = r["hashers"].get("keycloak", {})
    if "alone" in keycloak:
        alone = keycloak["alone"]
        runs["keycloak, one client"] = alone
        lines += [
            "",
            f"One client alone at Keycloak's cost: p50 {alone['latency'].get('p50_ms')} ms, p95 "
            f"{alone['latency'].get('p95_ms')} ms of one sign-in; one password check in one process: "
            f"{keycloak['hash_ms']} ms.",
        ]
    return lines + _cpu_table(runs, "login")


def refreshes(r: dict) -> list[str]:
    rate, alone = r["rate"], r["alone"]
    rows = [
        [f"{r['clients']} clients", rate["rate"], rate["client_rate"], r["per_core"],
         *(rate["latency"].get(p) for p in ("p50_ms", "p95_ms", "p99_ms")), rate["failed"]],
        ["one client", alone["rate"], alone["client_rate"], "",
         *(alone["latency"].get(p) for p in ("p50_ms", "p95_ms", "p99_ms")), alone["failed"]],
    ]  # fmt: skip
    lines = [
        f"POST auth/token/refresh with rotation, {r['sizes']['seconds']:.0f} s with {r['clients']} client "
        f"threads ({r['sessions_per_client']} sessions each, refreshed in turn), "
        f"{r['sizes']['alone_s']:.0f} s with one; gunicorn 2 sync workers, the relay and the consumers' "
        "workers on the same cores; refreshes/s count until their events were consumed.",
        "",
        *table(["run", "refreshes/s", "client's refreshes/s", "per core", "p50 ms", "p95 ms", "p99 ms",
                "failed"], rows),
    ]  # fmt: skip
    return lines + _cpu_table({f"{r['clients']} clients": rate, "one client": alone}, "refresh")


def alarm(r: dict) -> list[str]:
    sizes, events = r["sizes"], r["events"]
    rows = [
        [phase, kind, m["ok"], m["failed"], m.get("p50_ms"), m.get("p99_ms")]
        for phase, measured in (("no alarm", r["calm"]), ("memory alarm", r["alarm"]))
        for kind, m in measured.items()
    ]
    lines = [
        f"A private RabbitMQ node under the web, the relay and the workers; {sizes['clients']} clients "
        f"each signing up and then in (Keycloak's Argon2 cost), {sizes['seconds']:.0f} s without and "
        f"{sizes['seconds']:.0f} s with its memory alarm; a request with no answer after "
        f"{sizes['timeout_s']:.0f} s is given up and counts at that time.",
        "",
        *table(["phase", "request", "answered", "no answer", "p50 ms", "p99 ms"], rows),
        "",
        f"p99 with the alarm ÷ without (the worse request): {r['ratio']} (target ≤ 2).",
        "",
        *table(
            ["events committed", "under the alarm", "after clearing", "audited at clearing",
             "arrived after clearing", "lost", "settled in s"],
            [[events["committed"], events["committed_with_alarm"], events["committed_after_clearing"],
              events["audited_at_clearing"], events["arrived_after_clearing"], events["lost"],
              events["settled_in_s"]]],
        ),
    ]  # fmt: skip
    return lines
