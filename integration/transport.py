"""The connections webhooks are sent on: each dials an address `integration.targets` vetted for the
URL's host, and every network operation of an attempt ends by the attempt's total deadline.

httpx's timeouts are per operation (connect, each read, each write): a receiver that sends a byte
just within the read timeout, again and again, holds the worker for as long as it likes. The
deadline caps each operation's timeout at the time the attempt has left, and an operation asked
for after it fails at once; httpcore then closes the connection.
"""

from __future__ import annotations

import contextlib
import ssl
import time
import typing
from collections.abc import Iterator
from contextvars import ContextVar

import httpcore
import httpx

from integration import targets

# httpx's own defaults (httpx.Client's DEFAULT_LIMITS).
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)

# The monotonic time by which the attempt running in this context must end, or None outside one.
# A context variable rather than a parameter: httpcore hands its streams a timeout per operation
# and nothing about the request, and a pooled connection serves one attempt after another.
_deadline: ContextVar[float | None] = ContextVar("webhook_attempt_deadline", default=None)


@contextlib.contextmanager
def attempt_deadline(seconds: float) -> Iterator[None]:
    """Every network operation of the requests made inside ends `seconds` from now at the latest."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _within_deadline(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """The operation's timeout, shortened to what the attempt has left; `expired` if nothing is."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads, writes and TLS handshake end by the attempt's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(
            ssl_context, server_hostname, _within_deadline(timeout, httpcore.ConnectTimeout)
        )
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class VettedBackend(httpcore.NetworkBackend):
    """httpcore's own sync backend, handed an address instead of the name: the name is resolved
    once, here, the addresses are vetted, and one of them is dialled. httpcore keeps the name for
    everything above the socket: the TLS handshake's SNI and the certificate's check
    (`server_hostname`), the Host header, and the pool's key, so a kept-alive connection is one
    that was vetted when it was made. TargetRefused goes up through httpcore and httpx unchanged."""

    def __init__(self) -> None:
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        # The resolver's order, as socket.create_connection tries them (an IPv6 answer that
        # cannot be reached falls back to the IPv4 one).
        for address in targets.addresses_vetted(host, port):
            try:
                stream = self._sockets.connect_tcp(
                    address,
                    port,
                    timeout=_within_deadline(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return DeadlineStream(stream)
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("webhooks are sent over TCP only")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class VettedTransport(httpx.HTTPTransport):
    """httpx's transport on a connection pool whose backend is VettedBackend. httpx 0.28 takes no
    network backend (encode/httpx#3749 proposes one), so the pool it made is replaced by one made
    alike: the same SSL context (certifi's CA bundle, or `verify`), httpx's limits, HTTP/1.1 only."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, limits=LIMITS)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=VettedBackend(),
        )
