"""Fixtures of the notification tests: a real SMTP server on loopback and a worker sending to it."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from identity.models import User
from identity_project.eventbus.publisher import publish
from notification import default_rules
from notification.models import NotificationRule
from tests.conftest import purge_queues
from tests.support.processes import Process, service_env, start_worker

NOTIFICATION_QUEUES = "notification,notification.urgent"


@pytest.fixture(autouse=True)
def notification_rules(db) -> None:
    """The rules of the data migration; a transactional test elsewhere flushes them away."""
    default_rules.install(NotificationRule)


@dataclass
class Mailbox:
    """What the SMTP server received, in order of arrival; `refuse` holds, per address, the
    answers to give its next RCPT commands (one each), then it accepts."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            answers = self.refuse.get(address)
            if answers:
                return answers.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str, subject_contains: str = "") -> list[EmailMessage]:
        with self.lock:
            return [
                m
                for m in self.messages
                if address in str(m["To"]) and subject_contains.lower() in str(m["Subject"]).lower()
            ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield SmtpServer(port=controller.port, mailbox=mailbox)
    controller.stop()


def notification_env(smtp: SmtpServer, **overrides: str) -> dict[str, str]:
    return service_env(
        EMAIL_URL=smtp.url,
        NOTIFICATION_SEND_BACKOFF_FACTOR="0.5",
        NOTIFICATION_SEND_MAX_ATTEMPTS="3",
        **overrides,
    )


@pytest.fixture
def notification_worker(transactional_db, log_dir: Path, smtp_server: SmtpServer) -> Iterator[Process]:
    """A real worker on both notification lanes, mailing to the loopback SMTP server."""
    purge_queues()
    process = start_worker(log_dir, queues=NOTIFICATION_QUEUES, env=notification_env(smtp_server))
    yield process
    process.stop()
    purge_queues()


def make_user(name: str) -> User:
    with transaction.atomic():
        return User.objects.create_user(
            f"{name}-{uuid.uuid4().hex[:8]}@example.com", "a-long-test-password", full_name=name.title()
        )


def publish_now(*events) -> list[dict]:
    with transaction.atomic():
        return [publish(event) for event in events]
