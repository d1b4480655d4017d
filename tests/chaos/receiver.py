"""A webhook receiver on 127.0.0.1 for the chaos scenarios: it refuses (stopped), answers after the
integration's timeout (slow) or answers 200 (ok), and dedups by the webhook-id header, counting
the duplicates it accepted (delivery is at least once)."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Beyond WEBHOOK_TIMEOUT (1 s in the scenarios): the sender gives up before the answer.
SLOW_SECONDS = 2.5


class WebhookReceiver:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.slow = False
        self.requests = 0
        self.accepted: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def unique(self) -> int:
        with self._lock:
            return len(self.accepted)

    def duplicates(self) -> int:
        """Requests answered 200 for a webhook-id that had been answered 200 before."""
        with self._lock:
            return sum(self.accepted.values()) - len(self.accepted)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.requests += 1
                if receiver.slow:
                    time.sleep(SLOW_SECONDS)
                    return  # the sender has given up: an answer now would count for nothing
                with receiver._lock:
                    receiver.accepted[self.headers["webhook-id"]] += 1
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Connections are refused until start()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
