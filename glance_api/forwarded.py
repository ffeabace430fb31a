"""X-Forwarded-Host from trusted proxies only.

Behind a load balancer the api sees requests from the balancer's address;
the links and Location headers it builds must name the host clients used.
X-Forwarded-Host is believed only from the addresses in ``trusted_proxies``
(anyone else could make the api hand out links to a host of their
choosing), and only its rightmost value, the one the trusted proxy itself
appended: werkzeug's ProxyFix does that part. ProxyFix has no address
allowlist, so it only sees requests from a trusted address.

X-Forwarded-Proto is gunicorn's job: it is told the same addresses
(``forwarded_allow_ips``) and sets the scheme from them.
``public_endpoint``, when set, wins over both.
"""

from __future__ import annotations

import ipaddress
from typing import Callable
from typing import Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

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


def middleware(wsgi_app: Callable, networks: list[Network]) -> Callable:
    """``wsgi_app`` seeing the client's host when a trusted proxy says so."""
    behind_proxy = ProxyFix(wsgi_app, x_for=0, x_proto=0, x_host=1)

    def forwarded(environ, start_response):
        if is_trusted(environ.get("REMOTE_ADDR"), networks):
            return behind_proxy(environ, start_response)
        return wsgi_app(environ, start_response)

    return forwarded
