"""A real SMTP server on loopback (aiosmtpd) whose mailbox a test reads and steers."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Mailbox:
    """What the SMTP server received, in order of arrival. `refuse` holds, per address, the
    answers to give its next RCPT commands (one each), then it accepts; `fail_after_accepting`
    is how many of the next messages it keeps and then answers with a temporary failure (the
    sender cannot tell it was delivered)."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, list[str]] = field(default_factory=dict)
    fail_after_accepting: int = 0
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
            if self.fail_after_accepting:
                self.fail_after_accepting -= 1
                return "451 4.3.0 Temporary failure, try again"
        return "250 Message accepted for delivery"

    def to(self, address: str, subject_contains: str = "") -> list[EmailMessage]:
        with self.lock:
            return [
                m
                for m in self.messages
                if address in str(m["To"]) and subject_contains.lower() in str(m["Subject"]).lower()
            ]


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(port=controller.port, mailbox=mailbox)
    finally:
        controller.stop()
