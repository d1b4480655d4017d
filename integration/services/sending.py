"""Sending one signed POST to a subscriber: Standard Webhooks headers, the vetted address only, a
total deadline, no redirects."""

from __future__ import annotations

import os
import ssl
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from integration import selectors, signing
from integration.models import WebhookSubscription
from integration.targets import TargetRefused, url_check
from integration.transport import VettedTransport, attempt_deadline

RESPONSE_MAX_BYTES = 2000
ERROR_MAX_CHARS = 2000


@dataclass(frozen=True)
class AttemptResult:
    duration_ms: int
    status_code: int | None = None
    response_body: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        return self.error or f"HTTP {self.status_code}"


_clients: dict[tuple[int, str], httpx.Client] = {}


def _client() -> httpx.Client:
    """One client per process, made on first use: building one loads the CA bundle (tens of
    milliseconds, more than a delivery to a nearby receiver), and its pool keeps connections to
    subscribers alive between deliveries. Keyed by process id, so a forked worker never shares
    its parent's sockets, and by the CA bundle it trusts. Its transport dials only addresses the
    target check vetted (`integration.transport`). Redirects are never followed (a redirect could
    lead to a target the check refused); proxies from the environment are not used, the target
    check must see the real target."""
    key = (os.getpid(), settings.WEBHOOK_CA_BUNDLE)
    if key not in _clients:
        _clients.clear()
        bundle = settings.WEBHOOK_CA_BUNDLE
        transport = VettedTransport(verify=ssl.create_default_context(cafile=bundle) if bundle else True)
        _clients[key] = httpx.Client(transport=transport, follow_redirects=False, trust_env=False)
    return _clients[key]


def _failure(exc: Exception, *, took: float) -> str:
    """What the attempt's error says: the deadline when it ended the attempt, whichever operation
    it cut short; the exception otherwise. Bounded, as it is stored."""
    if took >= settings.WEBHOOK_ATTEMPT_DEADLINE:
        return f"deadline exceeded: the attempt was stopped after {settings.WEBHOOK_ATTEMPT_DEADLINE:g} s"
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX_CHARS]


def post_signed(*, subscription: WebhookSubscription, webhook_id: str, body: bytes) -> AttemptResult:
    """POST `body` to the subscription's URL, signed with its secrets in use; never raises for
    what the network or the receiver does, it answers with what happened. The whole attempt ends
    by WEBHOOK_ATTEMPT_DEADLINE; at most RESPONSE_MAX_BYTES of the answer are read."""
    headers = signing.headers(
        secrets_in_use=selectors.subscription_signing_secrets(subscription),
        webhook_id=webhook_id,
        timestamp=int(time.time()),
        body=body,
    )
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        url_check(subscription.url)
        with (
            attempt_deadline(settings.WEBHOOK_ATTEMPT_DEADLINE),
            _client().stream(
                "POST", subscription.url, content=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT
            ) as response,
        ):
            answer = b""
            for chunk in response.iter_bytes():
                answer += chunk
                if len(answer) >= RESPONSE_MAX_BYTES:
                    break
    except TargetRefused as exc:
        return AttemptResult(duration_ms=elapsed(), error=f"target refused: {exc}"[:ERROR_MAX_CHARS])
    except httpx.HTTPError as exc:
        return AttemptResult(duration_ms=elapsed(), error=_failure(exc, took=time.monotonic() - started))
    return AttemptResult(
        duration_ms=elapsed(),
        status_code=response.status_code,
        response_body=answer[:RESPONSE_MAX_BYTES].decode(errors="replace"),
    )
