"""Which webhook URLs and addresses may be called: http(s) only, and only public addresses unless
private targets are allowed.

A name is resolved once per connection, here, and the connection dials one of the addresses this
module vetted (`integration.transport`): resolving again when connecting would let a name answer a
public address to the check and a private one to the dial (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The one IPv6 block of global unicast addresses (RFC 4291); everything outside it that is not an
# IPv4 address in disguise (below) is loopback, link-local, multicast, unique-local or reserved.
GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
# IPv6 forms whose last 32 bits are the IPv4 address really reached: NAT64's well-known prefix
# (RFC 6052); IPv4-mapped addresses and 6to4 (2002::/16) are unwrapped with ipaddress's own
# properties. Python 3.11 calls 64:ff9b::7f00:1, 2002:7f00:1:: or ::ffff:8.8.8.8 global whatever
# IPv4 address they carry.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Forms that are refused whatever they carry: IPv4-compatible addresses (::a.b.c.d, deprecated by
# RFC 4291, no host has one), NAT64's local-use prefix (RFC 8215: what it translates to is a
# site's own choice) and Teredo (2001::/32: a client's tunnel, not a server).
REFUSED_IPV6 = {
    ipaddress.ip_network("::/96"): "an IPv4-compatible address",
    ipaddress.ip_network("64:ff9b:1::/48"): "a local-use NAT64 address",
    ipaddress.ip_network("2001::/32"): "a Teredo address",
}
# IPv4 blocks that Python 3.11 still calls global: IETF protocol assignments (RFC 6890 lists only
# two of its addresses as global, none of them a webhook receiver) and the deprecated 6to4 relay
# anycast (RFC 7526).
REFUSED_IPV4 = {
    ipaddress.ip_network("192.0.0.0/24"): "an IETF protocol assignment",
    ipaddress.ip_network("192.88.99.0/24"): "a 6to4 relay anycast address",
}


class TargetRefused(Exception):
    """The URL or an address its host resolves to is not a target webhooks may be sent to."""


def _ipv4_refusal(address: ipaddress.IPv4Address) -> str | None:
    if address.is_multicast:
        return "a multicast address"
    for network, what in REFUSED_IPV4.items():
        if address in network:
            return what
    if not address.is_global:
        return "a loopback, private, link-local or reserved address"
    return None


def address_refusal(address: Address) -> str | None:
    """Why webhooks may not be sent to `address` (a phrase), or None for a public address. An IPv4
    address embedded in an IPv6 form is unwrapped and judged itself: the dial reaches it."""
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_refusal(address)
    embedded = address.ipv4_mapped or address.sixtofour
    if embedded is None and address in NAT64:
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if embedded is not None:
        refusal = _ipv4_refusal(embedded)
        return f"{refusal} ({embedded}) inside an IPv6 address" if refusal else None
    for network, what in REFUSED_IPV6.items():
        if address in network:
            return what
    if address.is_multicast:
        return "a multicast address"
    if address not in GLOBAL_UNICAST or not address.is_global:
        return "a loopback, private, link-local or reserved address"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every TCP address of `host` as socket.connect takes it (an IPv6 scope kept), in the
    resolver's order: the one lookup a connection makes."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"the host {host!r} cannot be resolved") from exc
    return list(dict.fromkeys(sockaddr[0] for *_, sockaddr in infos))


def addresses_vetted(host: str, port: int) -> list[str]:
    """The addresses to dial for host:port. All of them are refused if one is not public (unless
    WEBHOOK_ALLOW_PRIVATE_TARGETS): a name that mixes public and private answers is not trusted."""
    resolved = resolve(host, port)
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for each in resolved:
            address = ipaddress.ip_address(each.split("%", 1)[0])
            if refusal := address_refusal(address):
                raise TargetRefused(f"{host} resolves to {address}, {refusal}")
    return resolved


def url_check(url: str) -> tuple[str, int]:
    """The URL's host and port, or TargetRefused if it is not an http(s) URL with a host and no
    credentials."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused("the URL must be http or https with a host")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not allowed; verify the signature instead")
    try:
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("the URL's port is not valid") from exc


def target_check(url: str) -> None:
    """Raise TargetRefused for a URL webhooks must not reach, when a subscription is saved. Each
    connection checks again what the name resolves to then, and dials only what it checked."""
    host, port = url_check(url)
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        addresses_vetted(host, port)
