"""Which remote URLs the service may fetch: [import_filtering_opts] and more.

Glance's rules: a scheme, host and port must be in the ``allowed_*`` list
when that list is not empty, otherwise must not be in the ``disallowed_*``
list. One rule Glance lacked: every address a host resolves to must be a
public one; loopback, link-local, private, multicast, reserved and
unspecified (and any other non-global) addresses are refused unless
``allowed_hosts`` names the host or the address. The addresses checked are
returned, and a client must connect to one of those, never resolve again,
so a DNS answer cannot change between the check and the connection.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import urllib.parse
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from glance_store import exceptions

DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[[str, int], Iterable[str]]


def redact(url: str) -> str:
    """``url`` with any user name and password masked, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if sep and "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return scheme + sep + netloc + slash + tail


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to for a TCP connection."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _normal_host(host: str) -> str:
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


@dataclasses.dataclass(frozen=True)
class URLFilter:
    """The [import_filtering_opts] lists, normalised."""

    allowed_schemes: frozenset[str] = frozenset({"http", "https"})
    disallowed_schemes: frozenset[str] = frozenset()
    allowed_hosts: frozenset[str] = frozenset()
    disallowed_hosts: frozenset[str] = frozenset()
    allowed_ports: frozenset[int] = frozenset({80, 443})
    disallowed_ports: frozenset[int] = frozenset()

    @classmethod
    def from_lists(cls, *, allowed_schemes: Iterable[str] = ("http", "https"),
                   disallowed_schemes: Iterable[str] = (),
                   allowed_hosts: Iterable[str] = (),
                   disallowed_hosts: Iterable[str] = (),
                   allowed_ports: Iterable[int] = (80, 443),
                   disallowed_ports: Iterable[int] = ()) -> URLFilter:
        """Build a filter from option-style lists."""
        return cls(
            allowed_schemes=frozenset(s.lower() for s in allowed_schemes),
            disallowed_schemes=frozenset(
                s.lower() for s in disallowed_schemes),
            allowed_hosts=frozenset(map(_normal_host, allowed_hosts)),
            disallowed_hosts=frozenset(map(_normal_host, disallowed_hosts)),
            allowed_ports=frozenset(allowed_ports),
            disallowed_ports=frozenset(disallowed_ports))

    @classmethod
    def from_conf(cls, group: Any) -> URLFilter:
        """Build from the [import_filtering_opts] group of a ConfigOpts."""
        return cls.from_lists(
            allowed_schemes=group.allowed_schemes,
            disallowed_schemes=group.disallowed_schemes,
            allowed_hosts=group.allowed_hosts,
            disallowed_hosts=group.disallowed_hosts,
            allowed_ports=group.allowed_ports,
            disallowed_ports=group.disallowed_ports)


@dataclasses.dataclass(frozen=True)
class CheckedURL:
    """A URL that passed the filter, and the addresses it may connect to."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _listed(value: Any, allowed: frozenset, disallowed: frozenset) -> bool:
    return value in allowed if allowed else value not in disallowed


def _non_public_kind(address: str) -> str | None:
    """Why ``address`` is not a public address, or None if it is one."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind in ("unspecified", "loopback", "link_local", "multicast",
                 "reserved", "private"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "non-global"


def check_url(url: str, url_filter: URLFilter,
              resolver: Resolver = resolve) -> CheckedURL:
    """Check ``url`` against ``url_filter``; raise URLNotAllowed if refused."""
    if not isinstance(url, str) or any(c <= " " or c == "\x7f" for c in url):
        raise exceptions.URLNotAllowed(
            f"{url!r} is not a URL: it is empty or contains spaces or "
            f"control characters")
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if not _listed(scheme, url_filter.allowed_schemes,
                   url_filter.disallowed_schemes):
        raise exceptions.URLNotAllowed(
            f"URL scheme {scheme!r} of {redact(url)} is not allowed; see "
            f"[import_filtering_opts] allowed_schemes")
    if not parts.hostname:
        raise exceptions.URLNotAllowed(f"{redact(url)} names no host")
    host = _normal_host(parts.hostname)
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        raise exceptions.URLNotAllowed(f"{redact(url)} has an invalid port") from None
    if port is None:
        raise exceptions.URLNotAllowed(f"{redact(url)} names no port")
    if not _listed(host, url_filter.allowed_hosts,
                   url_filter.disallowed_hosts):
        raise exceptions.URLNotAllowed(
            f"host {host!r} of {redact(url)} is not allowed; see "
            f"[import_filtering_opts] allowed_hosts and disallowed_hosts")
    if not _listed(port, url_filter.allowed_ports,
                   url_filter.disallowed_ports):
        raise exceptions.URLNotAllowed(
            f"port {port} of {redact(url)} is not allowed; see "
            f"[import_filtering_opts] allowed_ports")
    addresses = _checked_addresses(url, host, port, url_filter, resolver)
    return CheckedURL(url=url, scheme=scheme, host=host, port=port,
                      addresses=addresses)


def _checked_addresses(url: str, host: str, port: int, url_filter: URLFilter,
                       resolver: Resolver) -> tuple[str, ...]:
    try:
        addresses = tuple(resolver(host, port))
    except (OSError, UnicodeError) as exc:
        raise exceptions.URLNotAllowed(
            f"host {host!r} of {redact(url)} cannot be resolved: {exc}") from exc
    if not addresses:
        raise exceptions.URLNotAllowed(
            f"host {host!r} of {redact(url)} resolves to no address")
    for address in addresses:
        normal = _normal_host(address.partition("%")[0])
        if normal in url_filter.disallowed_hosts \
                and not url_filter.allowed_hosts:
            raise exceptions.URLNotAllowed(
                f"{redact(url)} resolves to {normal}, which is in "
                f"[import_filtering_opts] disallowed_hosts")
        kind = _non_public_kind(normal)
        if kind and host not in url_filter.allowed_hosts \
                and normal not in url_filter.allowed_hosts:
            raise exceptions.URLNotAllowed(
                f"{redact(url)} resolves to {normal}, a {kind} address; the service "
                f"does not fetch from internal networks unless "
                f"[import_filtering_opts] allowed_hosts names the host")
    return addresses
