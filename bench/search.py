"""Audit search latency as the trail grows: GET /api/v1/audit/events through gunicorn, with a
signed-in auditor's bearer token, at 10k, 100k and 1M entries (how cost grows with work).

The trail is filled with COPY (entries of every catalog type, skewed towards sign-ins and
tokens; 20,000 users, one of whom is in one entry of every thousand; five entries per correlation
id), then ANALYZEd. Each query is asked a few times to warm up, then timed:
  newest      the first page, no filter;
  user        one user's newest page;
  type        the newest sign-ins;
  correlation one story (five entries);
  deep_cursor a page 90% of the way back, by cursor.

    python -m bench.search [--quick | --smoke]
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench import cleanup, launch, standalone, stats

SIZES = {
    "full": {"entries": (10_000, 100_000, 1_000_000), "repeats": 30, "warmup": 3},
    "quick": {"entries": (10_000, 50_000), "repeats": 8, "warmup": 2},
    "smoke": {"entries": (500, 2_000), "repeats": 2, "warmup": 1},
}
PASSWORD = "Bench-Auditor-Password-1234"
USERS = 20_000
STORY = 5  # entries per correlation id
# Sign-ins, tokens and sessions are most of a real trail.
HEAVY = {"identity.user.logged_in": 20, "identity.token.issued": 20, "identity.session.created": 10,
         "identity.token.refreshed": 10, "identity.user.login_failed": 5}  # fmt: skip
COLUMNS = (
    "event_id, type, version, source, aggregate_type, aggregate_id, sequence, actor_type, actor_id, "
    "correlation_id, causation_id, occurred_at, received_at, data, user_id, severity, category, "
    "prev_hash, hash"
)


class Trail:
    """Fills audit_auditentry with COPY, in the order entries would have arrived."""

    def __init__(self) -> None:
        from identity_project.eventbus.catalog import registry

        types = [cls.type for cls in registry.events()]
        self.types = types
        self.weights = [HEAVY.get(t, 1) for t in types]
        self.users = [str(uuid.uuid4()) for _ in range(USERS)]
        self.probe_user = str(uuid.uuid4())
        self.count = 0
        self.random = random.Random(10)
        self.started = datetime.now(UTC) - timedelta(days=30)

    def grow_to(self, total: int) -> float:
        """Append entries until the trail holds `total`; returns the seconds it took."""
        from django.db import connection, transaction

        from audit.models import AuditEntry
        from audit.taxonomy import category_of, severity_of

        began = time.monotonic()
        statement = f"COPY {AuditEntry._meta.db_table} ({COLUMNS}) FROM STDIN"
        while self.count < total:
            chunk = min(50_000, total - self.count)
            with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
                types = self.random.choices(self.types, self.weights, k=chunk)
                for event_type in types:
                    n = self.count
                    user = self.probe_user if n % 1000 == 0 else self.users[self.random.randrange(USERS)]
                    moment = self.started + timedelta(seconds=n)
                    copy.write_row(
                        (uuid.uuid4(), event_type, 1, "identity", "user", user, n, "user", user,
                         f"story-{n // STORY}", None, moment, moment,
                         json.dumps({"user_id": user, "ip_address": "198.51.100.7"}), user,
                         severity_of(event_type), category_of(event_type), "0" * 64, "0" * 64)
                    )  # fmt: skip
                    self.count += 1
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {AuditEntry._meta.db_table}")
        return time.monotonic() - began


def _auditor_token(url: str) -> str:
    from identity.models import User

    email = f"auditor-{uuid.uuid4().hex[:6]}@bench.example"
    User.objects.create_superuser(email, PASSWORD)
    answer = httpx.post(f"{url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return answer.json()["access"]


def _cursor(before_id: int) -> str:
    """DRF's cursor for the page of entries older than `before_id` (ordering -id)."""
    return base64.b64encode(f"p={before_id}".encode()).decode()


def queries(trail: Trail) -> dict[str, dict[str, str]]:
    from audit.models import AuditEntry

    newest, oldest = AuditEntry.objects.order_by("-id")[0].id, AuditEntry.objects.order_by("id")[0].id
    return {
        "newest": {},
        "user": {"user_id": trail.probe_user},
        "type": {"type": "identity.user.logged_in"},
        "correlation": {"correlation_id": f"story-{trail.count // STORY // 2}"},
        "deep_cursor": {"cursor": _cursor(oldest + (newest - oldest) // 10)},
    }


def time_queries(http: httpx.Client, trail: Trail, sizes: dict) -> dict:
    timed = {}
    for name, params in queries(trail).items():
        latencies = []
        for attempt in range(sizes["warmup"] + sizes["repeats"]):
            started = time.perf_counter()
            answer = http.get("/api/v1/audit/events", params=params)
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code != 200 or not answer.json()["results"]:
                raise RuntimeError(f"audit search {name} answered {answer.status_code}: {answer.text[:300]}")
            if attempt >= sizes["warmup"]:
                latencies.append(elapsed)
        distribution = stats.distribution(latencies)
        distribution["results"] = len(answer.json()["results"])
        timed[name] = distribution
    return timed


def measure(size: str, log_dir: Path) -> dict:
    sizes = SIZES[size]
    cleanup.reset()
    trail = Trail()
    web, url = launch.start_web(log_dir, name="web-search")
    try:
        token = _auditor_token(url)
        levels = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            for total in sizes["entries"]:
                fill_seconds = trail.grow_to(total)
                levels.append(
                    {
                        "entries": total,
                        "fill_seconds": round(fill_seconds, 1),
                        "queries": time_queries(http, trail, sizes),
                    }
                )
    finally:
        web.stop()
    cleanup.reset()
    return {"size": size, "sizes": sizes, "levels": levels}


if __name__ == "__main__":
    standalone.run_alone("search", measure, standalone.size_arguments(__doc__).parse_args().size)
