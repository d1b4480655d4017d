"""Liveness (/healthz) and readiness (/readyz: database, broker and, when configured, Redis).

/readyz also names the broker node it reached (host:port, never the URL's credentials): given a
cluster's nodes (a failover list), it is the first that answered, so a probe shows where the
platform's connections go while a node is down."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from identity_project.celery import app
from identity_project.eventbus import failover


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> str:
    """The node reached, after one try of each in the failover list (one quick retry for one)."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=failover.connect_retries(app.conf.broker_url), timeout=2)
        return failover.reached(conn)


def _check_redis() -> None:
    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("the cache did not keep a value")


def readyz(request):
    checks = {"database": _check_database, "broker": _check_broker}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    results = {}
    answers: dict[str, str | None] = {}  # what a check found: the broker node it reached
    for name, check in checks.items():
        try:
            answers[name] = check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports every failure
            results[name] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in results.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": results, "broker_node": answers.get("broker")},
        status=200 if ok else 503,
    )
