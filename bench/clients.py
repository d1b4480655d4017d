"""Client threads for the parts that measure requests: each thread has its own HTTP connection
and its own state (its users, its sessions) and runs one step in a loop for a while. A step sends
its requests through `timed`, which notes each one's latency under a kind ("sign-in", "refresh")
and whether it answered as expected; a request that fails or times out is counted, so a hang
shows as failures after the client's timeout instead of freezing the benchmark.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx


class Timings:
    """Latencies (ms) per kind of request, of those answered as expected and of the others."""

    def __init__(self) -> None:
        self.kinds: dict[str, dict[str, list[float]]] = {}
        self.lock = threading.Lock()

    def __call__(self, kind: str, send: Callable[[], httpx.Response], expect: int) -> httpx.Response | None:
        """Send one request; its response if it has the status expected, else None."""
        began = time.perf_counter()
        try:
            response = send()
        except httpx.HTTPError:
            response = None
        milliseconds = (time.perf_counter() - began) * 1000
        ok = response is not None and response.status_code == expect
        with self.lock:
            measured = self.kinds.setdefault(kind, {"ok_ms": [], "failed_ms": []})
            measured["ok_ms" if ok else "failed_ms"].append(milliseconds)
        return response if ok else None


Step = Callable[[httpx.Client, Any, Timings], None]


def load(url: str, *, states: list[Any], step: Step, seconds: float, timeout: float = 30) -> dict:
    """One thread per state, each running `step(http, state, timed)` until `seconds` have passed
    (a step under way then is finished); returns the seconds it took and the Timings' kinds."""
    timed = Timings()
    errors: list[BaseException] = []
    stop_at = time.monotonic() + seconds

    def client(state: Any) -> None:
        try:
            with httpx.Client(base_url=url, timeout=timeout) as http:
                while time.monotonic() < stop_at:
                    step(http, state, timed)
        except BaseException as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(state,)) for state in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return {"seconds": time.monotonic() - started, "kinds": timed.kinds}
