"""Liveness (/healthz) and readiness (/readyz: database, broker and, when configured, Redis)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from identity_project.celery import app


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_redis() -> None:
    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("the cache did not keep a value")


def readyz(request):
    checks = {"database": _check_database, "broker": _check_broker}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports every failure
            results[name] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in results.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503
    )
