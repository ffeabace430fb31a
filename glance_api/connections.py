"""Keep-alive HTTP connections from glance-api to glance-registry.

Every api request makes at least one registry call, so the cost of a call
is paid on every request: ``http.client`` over a small pool of kept-alive
connections costs a fraction of a general-purpose client (which resolves
proxies, merges settings and builds several objects per call), and that
difference was most of the api's own time on a HEAD.
"""

from __future__ import annotations

import http.client
import queue
import select
import socket
import ssl
import time
import urllib.parse

CONNECT_RETRIES = 2
RETRY_BACKOFF = 0.1  # seconds, doubled per retry

# A call that fails on a kept-alive connection before any answer arrived
# most likely lost a race with the registry closing that idle connection;
# it is repeated once on a fresh connection when repeating cannot apply a
# change twice.
_REPEATABLE = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError,
                 BrokenPipeError, http.client.BadStatusLine)


class Answer:
    """A registry's answer: status, headers and the whole body."""

    __slots__ = ("status", "reason", "headers", "body")

    def __init__(self, status: int, reason: str, headers, body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class ConnectionPool:
    """Up to ``size`` idle connections to one ``scheme://host:port``.

    Connections are made on demand, so more than ``size`` callers at once
    each still get one; only ``size`` are kept when they are done.
    """

    def __init__(self, base_url: str, size: int,
                 ssl_context: ssl.SSLContext | None = None):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("registry URL %r is not http or https" % base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        self._ssl = ssl_context
        self._idle: queue.LifoQueue = queue.LifoQueue(maxsize=max(size, 1))

    def request(self, method: str, path: str, body: bytes | None,
                headers: dict, timeout: float) -> Answer:
        """Send one request and read its whole answer.

        OSError (or an http.client error) when the registry cannot be
        reached or the connection fails; connecting is retried, since a
        call that never connected cannot have changed anything.
        """
        conn, reused = self._checkout(timeout)
        try:
            answer = self._exchange(conn, method, path, body, headers, timeout)
        except _STALE_ERRORS:
            conn.close()
            if not (reused and method in _REPEATABLE):
                raise
            conn = self._connect(timeout)
            answer = self._exchange(conn, method, path, body, headers, timeout)
        except BaseException:
            conn.close()
            raise
        self._checkin(conn)
        return answer

    @staticmethod
    def _exchange(conn, method, path, body, headers, timeout) -> Answer:
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        answer = Answer(resp.status, resp.reason, resp.headers, data)
        if resp.will_close:
            conn.close()
        return answer

    def _checkout(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return self._connect(timeout), False
            if _still_open(conn):
                return conn, True
            conn.close()

    def _checkin(self, conn: http.client.HTTPConnection) -> None:
        if conn.sock is None:
            return
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        delay = RETRY_BACKOFF
        for attempt in range(CONNECT_RETRIES + 1):
            conn = self._new(timeout)
            try:
                conn.connect()
            except OSError:
                conn.close()
                if attempt == CONNECT_RETRIES:
                    raise
                time.sleep(delay)
                delay *= 2
                continue
            # Requests are small and answered at once: send them now
            # rather than wait for an ACK that delayed ACK holds back.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn
        raise AssertionError("unreachable")

    def _new(self, timeout: float) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port,
                                               timeout=timeout,
                                               context=self._ssl)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def close(self) -> None:
        """Close every idle connection."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def _still_open(conn: http.client.HTTPConnection) -> bool:
    """False when the registry closed the idle connection (readable = EOF)."""
    if conn.sock is None:
        return False
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return not poller.poll(0)


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Verify the registry's certificate against ``ca_file`` or the system CAs."""
    return ssl.create_default_context(cafile=ca_file or None)
