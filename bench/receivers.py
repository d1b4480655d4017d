"""Loopback stand-ins for the outside world: an SMTP server and a webhook receiver, each noting
when what it was waiting for arrived (wall-clock time, comparable with the workers' timestamps)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.launch import free_port


class Mailbox:
    """The SMTP server's handler: when each recipient's first mail arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.arrived.setdefault(recipient, now)
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()


class WebhookReceiver:
    """Answers 204 to every POST and notes when each webhook id (the event id) first arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        arrived, lock = self.arrived, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.time()
                self.rfile.read(int(self.headers.get("content-length") or 0))
                with lock:
                    arrived.setdefault(self.headers.get("webhook-id", ""), now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
