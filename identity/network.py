"""The client's address: REMOTE_ADDR, or X-Forwarded-For only as far as trusted proxies vouch for it."""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings


@cache
def _trusted_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in settings.IDENTITY["TRUSTED_PROXIES"])


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted_networks())


def client_ip(request) -> str:
    """Walk X-Forwarded-For from the right while the hop is a trusted proxy; the first untrusted
    hop is the client. Without trusted proxies the header is ignored: any client can write it."""
    # "0.0.0.0" is a placeholder for a missing address, not an address to bind to.
    address = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 # nosec B104
    if not _is_trusted(address):
        return address
    forwarded = [
        hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()
    ]
    for hop in reversed(forwarded):
        if not _is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address
    return address


def user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]
