"""One e-mail through Django's mail backend, within a total deadline; what an SMTP failure means.

smtplib's timeout bounds each socket operation, not the conversation: a server that answers a
byte at a time holds the sender for as long as it likes. A timer shuts the socket down when the
deadline passes, which ends whatever smtplib is waiting for. The socket is known from the moment
it connects (the server's greeting is read inside smtplib's constructor) through this module's
EmailBackend, which settings use for every SMTP EMAIL_URL.
"""

from __future__ import annotations

import smtplib
import socket
import threading

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends import smtp

from identity_project.eventbus.outbound.channel import Outcome


def send_email(
    *, subject: str, text: str, html: str = "", to: str, deadline: float, timeout: float | None = None
) -> None:
    """`timeout` bounds each socket operation (connect, each answer), `deadline` all of them."""
    connection = get_connection(timeout=min(timeout or deadline, deadline))
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], connection=connection
    )
    if html:
        message.attach_alternative(html, "text/html")
    watchdog = threading.Timer(deadline, _cut, args=(connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        message.send()
    finally:
        watchdog.cancel()


class EmailBackend(smtp.EmailBackend):
    """Django's SMTP backend, keeping the sockets it opens so that a deadline can shut them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sockets: list[socket.socket] = []

    @property
    def connection_class(self):
        opened = self.sockets

        class Watched(super().connection_class):
            def _get_socket(self, host, port, timeout):
                sock = super()._get_socket(host, port, timeout)
                opened.append(sock)
                return sock

        return Watched


def _cut(connection: object) -> None:
    """The deadline passed: shut the SMTP socket down (the sending thread then fails at once)."""
    for sock in getattr(connection, "sockets", ()):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed: the conversation ended by itself


def outcome_of(exc: Exception) -> Outcome:
    """SMTP 5xx answers are permanent; 4xx, connection errors and anything else may pass."""
    return Outcome(ok=False, error=describe(exc)[:2000], permanent=is_permanent(exc))


def is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def describe(exc: BaseException) -> str:
    """The SMTP answer without the address it names: dead letters and logs need no addresses."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [f"{code} {_text(message)}" for code, message in exc.recipients.values()]
        return f"SMTPRecipientsRefused: {'; '.join(answers)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"
    return repr(exc)


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
