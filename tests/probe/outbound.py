"""A fourth outbound channel, as small as one can be: a page POSTed to a pager over HTTP.

What makes it a channel is all here: its table (models.Page), its lane, its policy and how one
record is sent. Claiming, leases, retries, attempts, dead letters and their replay are the
outbound mechanism's."""

from __future__ import annotations

import httpx

from identity_project.eventbus.outbound.channel import Channel, Outcome, RetryPolicy
from tests.probe.models import Page, PageAttempt


class PagerChannel(Channel):
    name = "probe.pager"
    model = Page
    attempt_model = PageAttempt
    max_attempts = 3
    deadline = 10.0

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts, backoff_factor=0.1, backoff_max=1, deadline=self.deadline
        )

    def queue(self, record: Page) -> str:
        return "probe"

    def send(self, record: Page, *, deadline: float) -> Outcome:
        response = httpx.post(record.url, json={"text": record.text}, timeout=deadline)
        error = "" if response.is_success else f"HTTP {response.status_code}"
        return Outcome(ok=response.is_success, status_code=response.status_code, error=error)


pager = PagerChannel()
