"""A TCP forwarder on 127.0.0.1 that makes a dependency vanish on demand.

A daemon under test is pointed at the forwarder instead of at the real
dependency (Swift's proxy, RabbitMQ, Keystone). ``stop()`` closes the
listening socket and aborts every relayed connection, so the daemon sees
what it would see if the dependency's process were killed: open
connections reset, new ones refused. ``start()`` listens again on the same
port, as the dependency coming back would. The real dependency, shared by
the whole test run, is never touched.

One thread accepts, two threads per connection pump bytes one way each:
a reader that stops reading (a paused download) stalls only its own
connection, never the forwarder.
"""

from __future__ import annotations

import socket
import struct
import threading

from tests import daemons

CHUNK = 64 * 1024
# SO_LINGER on, timeout 0: close() aborts with a reset, as the kernel does for
# a killed process that left data unread.
_ABORT = struct.pack("ii", 1, 0)


class Forwarder:
    """Relays 127.0.0.1:``port`` to ``target_host``:``target_port`` while running."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = daemons.free_port()
        self.accepted = 0  # connections relayed so far
        self.sent = 0  # bytes relayed from clients to the target so far
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: where the daemon under test connects."""
        return "http://127.0.0.1:%d" % self.port

    @property
    def running(self) -> bool:
        """True while the forwarder accepts connections."""
        return self._listener is not None

    def start(self) -> None:
        """Listen (again) on the same port; a no-op while running."""
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,),
                                          name="forwarder-%d" % self.port, daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        """Refuse new connections and reset every open one."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        # shutdown wakes the thread blocked in accept(); close alone does not.
        _quietly(listener.shutdown, socket.SHUT_RDWR)
        listener.close()
        if self._acceptor is not None:
            self._acceptor.join(5)
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for sock in doomed:
            _abort(sock)

    close = stop

    def __enter__(self) -> "Forwarder":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _abort(client)  # the real dependency is down too: refuse
                continue
            with self._lock:
                if self._listener is not listener:
                    _abort(client)
                    _abort(upstream)
                    return
                self._sockets.update((client, upstream))
                self.accepted += 1
            ended = []  # directions that ended cleanly; the second closes both
            for source, sink, outbound in ((client, upstream, True),
                                           (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, ended, outbound),
                                 daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, ended: list,
              outbound: bool) -> None:
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                sink.sendall(data)
                if outbound:
                    with self._lock:
                        self.sent += len(data)
            # A half-close is relayed as one: HTTP clients may shut their
            # sending side and still wait for the answer.
            _quietly(sink.shutdown, socket.SHUT_WR)
        except OSError:
            # One side went away: take the other down with it.
            self._drop(source, sink, abort=True)
            return
        with self._lock:
            ended.append(source)
            both = len(ended) == 2
        if both:
            self._drop(source, sink, abort=False)

    def _drop(self, first: socket.socket, second: socket.socket, abort: bool) -> None:
        with self._lock:
            self._sockets.difference_update((first, second))
        for sock in (first, second):
            if abort:
                _abort(sock)
            else:
                _quietly(sock.close)


def _abort(sock: socket.socket) -> None:
    _quietly(sock.setsockopt, socket.SOL_SOCKET, socket.SO_LINGER, _ABORT)
    # shutdown wakes a pump blocked on this socket; the close then resets.
    _quietly(sock.shutdown, socket.SHUT_RDWR)
    _quietly(sock.close)


def _quietly(call, *args) -> None:
    try:
        call(*args)
    except OSError:
        pass  # already closed or reset: the goal is reached either way
