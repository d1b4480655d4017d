"""The connections webhooks are sent on: each dials an address `integration.targets` vetted for the
URL's host."""

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx

from integration import targets

# httpx's own defaults (httpx.Client's DEFAULT_LIMITS).
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


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
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return stream
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise httpcore.UnsupportedProtocol("webhooks are sent over TCP only")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class VettedTransport(httpx.HTTPTransport):
    """httpx's transport on a connection pool whose backend is VettedBackend. httpx 0.28 takes no
    network backend (encode/httpx#3749 proposes one), so the pool it made is replaced by one made
    alike: the same SSL context (certifi's CA bundle, or `verify`), httpx's limits, HTTP/1.1 only."""

    def __init__(self, *, verify: ssl.SSLContext | str | bool = True) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, limits=LIMITS)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=VettedBackend(),
        )
