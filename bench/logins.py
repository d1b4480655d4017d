"""Benchmark of sign-in: logins per second through the API against the bare password-hash rate.

Both are measured in the same run with the same hasher and both cores busy: the hash rate with
two processes checking passwords, the login rate with gunicorn (2 sync workers) answering
POST /api/v1/auth/login from four client threads. Run with Django's default Argon2 and with
Keycloak's published Argon2id cost (5 iterations, 7 MiB, parallelism 1).

    python -m bench.logins [--seconds N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import httpx

from bench.harness import RESULTS, ROOT, Process, create_services, drop_services

PASSWORD = "Bench-Password-1234"
HASHERS = ("django", "keycloak")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def login_rate(hasher: str, seconds: float, log_dir, *, clients: int = 4) -> dict:
    emails = _create_users(hasher, 40)
    port = _free_port()
    os.environ["BENCH_HASHER"] = hasher
    web = Process(
        [sys.executable, "-m", "gunicorn", "identity_project.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--log-level", "warning"],
        f"web-{hasher}",
        log_dir,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--check-passwords", metavar="HASHER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check_passwords:
        _check_passwords(args.check_passwords, args.seconds)
        return
    create_services()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    log_dir = RESULTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    measured = {}
    try:
        for hasher in HASHERS:
            measured[hasher] = {
                "hash_rate": hash_rate(hasher, args.seconds),
                "login": login_rate(hasher, args.seconds, log_dir),
            }
    finally:
        drop_services()
    report(measured)


def report(measured: dict) -> None:
    cores = os.cpu_count() or 1
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        f"# Login benchmark {stamp}",
        "",
        f"{cores} cores; gunicorn 2 sync workers, 4 client threads on this machine; PostgreSQL, RabbitMQ.",
        "",
        "| hasher | password checks/s (machine) | logins/s via API | ratio | logins/s per core |",
        "|---|---|---|---|---|",
    ]
    for hasher, m in measured.items():
        ratio = round(m["login"]["rate"] / m["hash_rate"], 2)
        m["ratio"] = ratio
        per_core = round(m["login"]["rate"] / cores, 1)
        m["per_core"] = per_core
        lines.append(f"| {hasher} | {m['hash_rate']} | {m['login']['rate']} | {ratio} | {per_core} |")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"logins-{stamp}.json").write_text(
        json.dumps({"when": stamp, "cores": cores, **measured}, indent=2)
    )
    (RESULTS / "logins-latest.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
