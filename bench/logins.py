"""Benchmark of sign-in: logins per second through the API against the bare password-hash rate.

Both are measured in the same run with the same hasher and both cores busy: the hash rate with
two processes checking passwords, the login rate with gunicorn (2 sync workers) answering
POST /api/v1/auth/login from four client threads, as in production: the relay and the
consumers' workers at work (stack.py), the rate counted until every event of the logins was
consumed. Run with Django's default Argon2 and with Keycloak's published Argon2id cost
(5 iterations, 7 MiB, parallelism 1); at Keycloak's cost also one client alone (p50/p95 of one
sign-in) against one password check in one process (the bare hash time).

    python -m bench.logins [--quick | --smoke]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import cleanup, launch, stack, standalone
from bench.clients import Timings
from bench.harness import ROOT

PASSWORD = "Bench-Password-1234"
HASHERS = ("django", "keycloak")
SIZES = {"full": {"seconds": 20.0}, "quick": {"seconds": 4.0}, "smoke": {"seconds": 1.0}}
CLIENTS = 4


def _check_passwords(hasher: str, seconds: float) -> None:
    """Child process: check one password for `seconds`, print how many times."""
    os.environ["BENCH_HASHER"] = hasher
    import django

    django.setup()
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password(PASSWORD)
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        check_password(PASSWORD, encoded)
        done += 1
    sys.stdout.write(f"{done}\n")


def hash_rate(hasher: str, seconds: float, processes: int = 2) -> float:
    """Password checks per second for the whole machine: one fresh process per core, each with
    the hasher set in its environment before Django starts."""
    env = {**os.environ, "BENCH_HASHER": hasher}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.logins", "--check-passwords", hasher, "--seconds", str(seconds)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
        )
        for _ in range(processes)
    ]  # fmt: skip
    return round(sum(int(child.communicate()[0].strip()) for child in children) / seconds, 2)


def create_users(hasher: str, count: int, prefix: str) -> list[str]:
    """`count` users with the benchmark's password hashed by `hasher`; returns their e-mails."""
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm, make_password
    from django.test.utils import override_settings

    from identity.models import User

    with override_settings(PASSWORD_HASHERS=_hashers_setting(hasher)):
        get_hashers.cache_clear()
        get_hashers_by_algorithm.cache_clear()
        encoded = make_password(PASSWORD)
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()
    emails = [f"{prefix}-{i}@bench.example" for i in range(count)]
    User.objects.bulk_create([User(email=e, password=encoded) for e in emails])
    return emails


def _hashers_setting(hasher: str) -> list[str]:
    if hasher == "keycloak":
        return ["bench.hashers.KeycloakArgon2PasswordHasher"]
    return ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def sign_in(http: httpx.Client, email: str, timed: Timings) -> httpx.Response | None:
    return timed(
        "sign-in", lambda: http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}), 200
    )


def _sign_in_in_turn(http: httpx.Client, emails: itertools.cycle, timed: Timings) -> None:
    sign_in(http, next(emails), timed)


def login_rates(hasher: str, seconds: float, pipeline: stack.Pipeline, log_dir: Path) -> dict:
    """Four client threads signing in for `seconds`; with Keycloak's cost, one client alone too."""
    emails = create_users(hasher, 40, prefix=hasher)
    web, url = launch.start_web(log_dir, name=f"web-{hasher}", env={"BENCH_HASHER": hasher})
    try:
        measured = {"login": _logins(pipeline, web, url, emails, CLIENTS, seconds)}
        if hasher == "keycloak":
            measured["alone"] = _logins(pipeline, web, url, emails, 1, seconds)
    finally:
        web.stop()
    return measured


def _logins(
    pipeline: stack.Pipeline, web: launch.Process, url: str, emails: list[str], clients: int, seconds: float
) -> dict:
    """`clients` threads, each signing in users of its own in turn."""
    states = [itertools.cycle(emails[n::clients]) for n in range(clients)]
    return stack.measure_load(
        pipeline, web, url, "sign-in", states=states, step=_sign_in_in_turn, seconds=seconds
    )


def measure(size: str, log_dir: Path) -> dict:
    """Each hasher's password checks (both cores, then one process alone) and its logins through
    the API with the relay and the consumers' workers at work."""
    seconds = SIZES[size]["seconds"]
    cores = os.cpu_count() or 1
    measured = {}
    cleanup.reset()
    with stack.running(log_dir) as pipeline:
        for hasher in HASHERS:
            hashes = hash_rate(hasher, seconds)
            logins = login_rates(hasher, seconds, pipeline, log_dir)
            rate = logins["login"]["rate"]
            measured[hasher] = logins | {
                "hash_rate": hashes,
                "ratio": round(rate / hashes, 2) if hashes else None,
                "per_core": round(rate / cores, 1),
            }
            if "alone" in logins:
                measured[hasher]["hash_ms"] = round(1000 / hash_rate(hasher, seconds, processes=1), 2)
    return {"size": size, "seconds": seconds, "cores": cores, "clients": CLIENTS, "hashers": measured}


def main() -> None:
    parser = standalone.size_arguments(__doc__)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--check-passwords", metavar="HASHER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check_passwords:
        _check_passwords(args.check_passwords, args.seconds)
        return
    standalone.run_alone("logins", measure, args.size)


if __name__ == "__main__":
    main()
