"""Helpers for identity's tests: an API client that signs in, and the events a flow published."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rest_framework.test import APIClient

from identity_project.eventbus.models import OutboxEvent

PASSWORD = "Correct-Horse-Battery-9"


@dataclass
class Published:
    type: str
    data: dict
    envelope: dict


def mark() -> int:
    """The last outbox id: events after it belong to what the test does next."""
    last = OutboxEvent.objects.order_by("-id").first()
    return last.id if last else 0


def published_since(since: int) -> list[Published]:
    rows = OutboxEvent.objects.filter(id__gt=since).order_by("id")
    return [Published(r.type.removeprefix("identity."), r.envelope["data"], r.envelope) for r in rows]


def types_since(since: int) -> list[str]:
    return [p.type for p in published_since(since)]


def assert_no_secrets(*secrets: str) -> None:
    """No envelope written so far carries any of these strings (passwords, tokens, links)."""
    dumped = [json.dumps(row.envelope) for row in OutboxEvent.objects.all()]
    for secret in secrets:
        assert secret, "an empty secret proves nothing"
        leaking = [d for d in dumped if secret in d]
        assert not leaking, f"a secret appears in {len(leaking)} event(s): {leaking[0][:200]}"


def api(ip: str = "198.51.100.10", agent: str = "pytest-browser/1.0") -> APIClient:
    return APIClient(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def login(client: APIClient, email: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")


def bearer(access: str, ip: str = "198.51.100.10") -> APIClient:
    client = api(ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client
