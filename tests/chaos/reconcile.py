"""Reconciliation of a chaos scenario: what was committed against what each consumer did.

Every committed event must have exactly one audit entry; every event of a type notification takes
must be claimed once by notification; every role assignment (the load's marked events) must end
as one in-app notification and one delivered webhook; nothing may stay in the outbox; and every
dead letter must be one the scenario caused on purpose. Lost is what none of these accounts for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings

from audit.models import AuditEntry
from identity.events import RoleAssignedToUser
from identity_project.eventbus import routing
from identity_project.eventbus.models import DeadLetter, OutboxEvent, ProcessedEvent
from integration.models import WebhookDelivery
from notification.consumer import notification
from notification.models import Notification
from tests.chaos.receiver import WebhookReceiver
from tests.support import ledger

# Filled as scenarios finish; conftest.py prints it at the end of the run.
RESULTS: list[Reconciliation] = []


@dataclass
class Reconciliation:
    scenario: str
    committed: int = 0
    audited: int = 0
    to_notify: int = 0
    notified: int = 0
    in_app_expected: int = 0
    in_app: int = 0
    webhooks_expected: int = 0
    delivered: int = 0
    received: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    outbox_left: int = 0
    lost: int = 0
    unexplained: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.outbox_left == 0 and self.lost == 0 and self.delivered == self.webhooks_expected

    def row(self) -> str:
        return (
            f"| {self.scenario} | {broker()} | {self.committed} | {self.audited} | "
            f"{self.notified}/{self.to_notify} | {self.in_app}/{self.in_app_expected} | "
            f"{self.delivered}/{self.webhooks_expected} | {self.duplicates} | {self.dead_lettered} | "
            f"{self.outbox_left} | {self.lost} |"
        )


HEADER = (
    "| scenario | broker | committed | audited | notified | in-app | webhooks delivered | "
    "webhook duplicates | dead-lettered | outbox left | lost |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def broker() -> str:
    return "rabbitmq" if routing.broker_is_rabbitmq(settings.CELERY_BROKER_URL) else "redis"


def _processed(consumer: str) -> set[str]:
    return {
        str(e) for e in ProcessedEvent.objects.filter(consumer=consumer).values_list("event_id", flat=True)
    }


def reconcile(scenario: str, *, receiver: WebhookReceiver, explained: dict[str, str]) -> Reconciliation:
    """Count, for the events committed so far; `explained` maps the event ids the scenario
    dead-lettered on purpose to why."""
    events = ledger.committed_events()
    marked = {e for e, t in events.items() if t == RoleAssignedToUser.type}
    to_notify = {e for e, t in events.items() if notification.subscribes(t)}
    audited = {str(e) for e in AuditEntry.objects.values_list("event_id", flat=True)} & events.keys()
    notified = _processed("notification") & to_notify
    in_app = {str(e) for e in Notification.objects.values_list("event_id", flat=True)} & marked
    delivered = {
        str(e)
        for e in WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).values_list(
            "event_id", flat=True
        )
    } & marked
    letters = list(DeadLetter.objects.values_list("consumer", "event_id", "reason", "error"))
    dead = {(c, str(e)) for c, e, _, _ in letters}
    unexplained = sorted(f"{c}:{e} {r}: {err[:300]}" for c, e, r, err in letters if str(e) not in explained)

    def missing(consumer: str, expected: set[str], done: set[str]) -> int:
        return len({e for e in expected - done if (consumer, e) not in dead or e not in explained})

    lost = (
        missing("audit", set(events), audited)
        + missing("notification", to_notify, notified)
        + missing("notification", marked, in_app)
        + missing("integration", marked, delivered)
    )
    return Reconciliation(
        scenario=scenario,
        committed=len(events),
        audited=len(audited),
        to_notify=len(to_notify),
        notified=len(notified),
        in_app_expected=len(marked),
        in_app=len(in_app),
        webhooks_expected=len(marked),
        delivered=len(delivered),
        received=receiver.unique(),
        duplicates=receiver.duplicates(),
        dead_lettered=len(dead),
        outbox_left=OutboxEvent.objects.count(),
        lost=lost,
        unexplained=unexplained,
    )


def settle(
    scenario: str, *, receiver: WebhookReceiver, explained: dict[str, str], timeout: float
) -> Reconciliation:
    """Wait for the pipeline to drain (or `timeout`), then record and check the reconciliation:
    lost = 0, every dead letter explained, every webhook received once at least."""
    deadline = time.monotonic() + timeout
    result = reconcile(scenario, receiver=receiver, explained=explained)
    while not result.complete and time.monotonic() < deadline:
        time.sleep(1.0)
        result = reconcile(scenario, receiver=receiver, explained=explained)
    RESULTS.append(result)
    table = f"{HEADER}\n{result.row()}"
    assert result.lost == 0, f"events lost:\n{table}"
    assert result.outbox_left == 0, f"the outbox did not drain:\n{table}"
    assert not result.unexplained, f"unexplained dead letters {result.unexplained[:5]}:\n{table}"
    assert result.received == result.webhooks_expected, f"webhooks the receiver got:\n{table}"
    return result
