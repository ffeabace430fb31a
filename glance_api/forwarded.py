"""X-Forwarded-Proto / X-Forwarded-Host from trusted proxies only.

Behind a TLS-terminating load balancer the api sees plain HTTP from the
balancer's address; the links and Location headers it builds must name the
address clients used. Those headers are believed only from the addresses in
``trusted_proxies``: anyone else could make the api hand out links to a
host of their choosing. ``public_endpoint``, when set, wins over both.
"""

from __future__ import annotations

import ipaddress
from typing import Callable, Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or CIDR networks; ValueError names a bad entry."""
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError("trusted_proxies entry %r is not an IP address or "
                             "network" % entry) from None
    return networks


def is_trusted(address: str | None, networks: list[Network]) -> bool:
    """True when ``address`` lies in one of ``networks``."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return any(ip in net for net in networks if net.version == ip.version)


def _first(value: str | None) -> str:
    # A chain of proxies appends; the first value is what the client used.
    return (value or "").split(",", 1)[0].strip()


def middleware(wsgi_app: Callable, networks: list[Network]) -> Callable:
    """``wsgi_app`` seeing the client's scheme and host when a trusted proxy says so."""

    def forwarded(environ, start_response):
        if is_trusted(environ.get("REMOTE_ADDR"), networks):
            proto = _first(environ.get("HTTP_X_FORWARDED_PROTO")).lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
            host = _first(environ.get("HTTP_X_FORWARDED_HOST"))
            if host:
                environ["HTTP_HOST"] = host
        return wsgi_app(environ, start_response)

    return forwarded
