"""Which webhook URLs may be called: http(s) only, and no loopback or private network unless allowed."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(Exception):
    """The URL is not a target webhooks may be sent to."""


def _addresses(host: str, port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"the host {host!r} cannot be resolved") from exc
    return {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}


def target_check(url: str) -> None:
    """Raise TargetRefused for a URL webhooks must not reach. Checked when a subscription is saved
    and again before each request, as a name may resolve elsewhere later."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused("the URL must be http or https with a host")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not allowed; verify the signature instead")
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in _addresses(parts.hostname, port):
        if not address.is_global or address.is_multicast:
            raise TargetRefused(f"{parts.hostname} resolves to a loopback, private or reserved address")
