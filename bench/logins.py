"""Benchmark of sign-in: logins per second through the API against the bare password-hash rate.

Both are measured in the same run with the same hasher and both cores busy: the hash rate with
two processes checking passwords, the login rate with gunicorn (2 sync workers) answering
POST /api/v1/auth/login from four client threads. Run with Django's default Argon2 and with
Keycloak's published Argon2id cost (5 iterations, 7 MiB, parallelism 1).

    python -m bench.logins [--quick | --smoke]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bench import harness
from bench.harness import ROOT

PASSWORD = "Bench-Password-1234"
HASHERS = ("django", "keycloak")
SIZES = {"full": {"seconds": 20.0}, "quick": {"seconds": 4.0}, "smoke": {"seconds": 1.0}}


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


def _create_users(hasher: str, count: int) -> list[str]:
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm, make_password
    from django.test.utils import override_settings

    from identity.models import User

    with override_settings(PASSWORD_HASHERS=_hashers_setting(hasher)):
        get_hashers.cache_clear()
        get_hashers_by_algorithm.cache_clear()
        encoded = make_password(PASSWORD)
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()
    emails = [f"{hasher}-{i}@bench.example" for i in range(count)]
    User.objects.bulk_create([User(email=e, password=encoded) for e in emails])
    return emails


def _hashers_setting(hasher: str) -> list[str]:
    if hasher == "keycloak":
        return ["bench.hashers.KeycloakArgon2PasswordHasher"]
    return ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def login_rate(hasher: str, seconds: float, log_dir: Path, *, clients: int = 4) -> dict:
    emails = _create_users(hasher, 40)
    web, url = harness.start_web(log_dir, name=f"web-{hasher}", env={"BENCH_HASHER": hasher})
    results = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            i = offset
            while time.monotonic() < stop_at:
                response = http.post(
                    "/api/v1/auth/login", json={"email": emails[i % len(emails)], "password": PASSWORD}
                )
                with lock:
                    results["ok" if response.status_code == 200 else "failed"] += 1
                i += clients

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    web.stop()
    return {"logins": results["ok"], "failed": results["failed"], "rate": round(results["ok"] / elapsed, 2)}


def measure(size: str, log_dir: Path) -> dict:
    seconds = SIZES[size]["seconds"]
    cores = os.cpu_count() or 1
    measured = {}
    for hasher in HASHERS:
        hashes = hash_rate(hasher, seconds)
        login = login_rate(hasher, seconds, log_dir)
        measured[hasher] = {
            "hash_rate": hashes,
            "login": login,
            "ratio": round(login["rate"] / hashes, 2) if hashes else None,
            "per_core": round(login["rate"] / cores, 1),
        }
    return {"size": size, "seconds": seconds, "cores": cores, "hashers": measured}


def main() -> None:
    parser = harness.size_arguments(__doc__)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--check-passwords", metavar="HASHER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check_passwords:
        _check_passwords(args.check_passwords, args.seconds)
        return
    harness.run_alone("logins", measure, args.size)


if __name__ == "__main__":
    main()
