"""A network guard for a daemon under test, loaded through PYTHONPATH.

When ``GLANCE_NETGUARD_LOG`` names a file, this module (imported by
Python's ``site`` at start-up, before any of the daemon's code) makes the
process behave as if it lived in a network namespace whose only route is
loopback:

- ``socket.getaddrinfo`` answers the names in ``GLANCE_NETGUARD_HOSTS``
  (JSON ``{"name": ["address", ...]}``) from that table and numeric hosts
  as the C library parses them (``0177.0.0.1``, ``2130706433``, ``127.1``);
  any other name fails as unknown, so no DNS query ever leaves;
- ``connect``, ``connect_ex``, ``sendto`` and ``sendmsg`` to any address
  outside 127.0.0.0/8 and ::1 fail with ENETUNREACH *before* the system
  call, so a filter that lets a private address through cannot send a
  packet, and the attempt is written to the log for the test to find;
- except the routes of ``GLANCE_NETGUARD_ROUTES`` (JSON ``{"address:port":
  loopback_port}``): a connection to such a stand-in *public* address is
  made to 127.0.0.1 on that port instead, so a test can play a web server
  on the internet (the first hop of a redirect into a private network)
  without an operator allow-list and without leaving the machine.

Log lines are tab-separated: ``connect <host> <port>``, ``sendto <host>
<port>``, ``routed <host> <port>``, ``unknown-name <name>``, ``stub <name>
<addresses>``. Without the variable nothing is changed. Sockets that C
extensions open themselves (libpq) are not covered; glance-api opens none
on the paths under test.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket

LOG_ENV = "GLANCE_NETGUARD_LOG"
HOSTS_ENV = "GLANCE_NETGUARD_HOSTS"
ROUTES_ENV = "GLANCE_NETGUARD_ROUTES"
# Names the daemons may need that never leave the machine.
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def _write(log: str, *fields) -> None:
    line = "\t".join(str(f) for f in fields) + "\n"
    # O_APPEND: the master and its workers write one line each, whole.
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8", "replace"))
    finally:
        os.close(fd)


def is_loopback(host: str) -> bool:
    """Whether a connection to ``host`` (an address literal) stays on this machine."""
    try:
        ip = ipaddress.ip_address(str(host).partition("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class _Guard:
    """The stubbed resolver and the connection check, writing to ``log``."""

    def __init__(self, log: str, hosts: dict, routes: dict):
        self.log, self.routes = log, routes
        self.table = {name.lower().rstrip("."): list(addresses)
                      for name, addresses in hosts.items()}
        self.real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        real = self.real_getaddrinfo
        if isinstance(host, (bytes, bytearray)):
            host = bytes(host).decode("idna")
        if host is None or host.lower().rstrip(".") in LOCAL_NAMES:
            return real(host, port, family, type, proto, flags)
        name = host.lower().rstrip(".")
        if name in self.table:
            _write(self.log, "stub", name, ",".join(self.table[name]))
            return [info for address in self.table[name]
                    for info in real(address, port, family, type, proto,
                                     flags | socket.AI_NUMERICHOST)]
        try:
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            _write(self.log, "unknown-name", host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known "
                                  "(netguard: no DNS in tests)") from None

    def check(self, kind: str, address):
        """The address to use instead of ``address``; raises for one outside."""
        if not isinstance(address, tuple) or len(address) < 2:
            return address  # AF_UNIX paths and the like stay on the machine
        if is_loopback(address[0]):
            return address
        routed = self.routes.get("%s:%s" % (address[0], address[1]))
        if routed is not None and kind == "connect" and len(address) == 2:
            _write(self.log, "routed", address[0], address[1])
            return ("127.0.0.1", int(routed))
        _write(self.log, kind, address[0], address[1])
        raise OSError(errno.ENETUNREACH, "Network is unreachable (netguard: "
                      "%s to %s refused)" % (kind, address[0]))


def _install(guard: _Guard) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_sendmsg = socket.socket.sendmsg

    def connect(self, address):
        return real_connect(self, guard.check("connect", address))

    def connect_ex(self, address):
        return real_connect_ex(self, guard.check("connect", address))

    def sendto(self, data, *args):
        guard.check("sendto", args[-1])
        return real_sendto(self, data, *args)

    def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
        if address is None:
            return real_sendmsg(self, buffers, ancdata, flags)
        guard.check("sendto", address)
        return real_sendmsg(self, buffers, ancdata, flags, address)

    socket.getaddrinfo = guard.getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.socket.sendmsg = sendmsg
    _write(guard.log, "armed", os.getpid())


if os.environ.get(LOG_ENV):
    _install(_Guard(os.environ[LOG_ENV], json.loads(os.environ.get(HOSTS_ENV) or "{}"),
                    json.loads(os.environ.get(ROUTES_ENV) or "{}")))
