"""The body of an upload request, read with as few copies as the server allows.

gunicorn's own reader passes every byte through a BytesIO several times
(write, getvalue, slices): about 40 % of an upload's request thread. Under
gunicorn, a body with a Content-Length is read straight from the socket into
one buffer per chunk, and a chunked body is taken piece by piece from
gunicorn's own chunk parser (its limits and checks stay in force) without
the BytesIO. Anything else (other servers) reads the WSGI input.

A refused body larger than ``DRAIN_LIMIT`` is not read before answering.
Closing a socket with unread data makes TCP reset the connection, and the
client, still sending, loses the answer waiting in its receive buffer. So
the answer goes out with ``Connection: close``; only then is the write side
shut (the client reads the answer, then end of stream) while what the
client still sends is read and dropped, for at most ``LINGER_SECONDS``.
gunicorn then closes a connection whose client has finished. (gunicorn's
own graceful close reads only 64 KiB for two seconds: too little for a
client that sends its whole body before it reads.)

This module is the only one that knows gunicorn's private objects (its
readers, and the response behind ``wsgi.early_hints``). setup.cfg pins the
gunicorn major version they were read from; tests/unit/glance_api/
test_api_body.py (the readers) and tests/functional/test_hostile_requests.py
(the answer's ``Connection: close``) fail loudly if their shape changes.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import Iterator

import flask

from glance_api.exceptions import BadRequest

LOG = logging.getLogger(__name__)
DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of a refused upload read before answering
LINGER_SECONDS = 30.0  # after answering: how long the rest is read and dropped
LINGER_IDLE = 5.0  # seconds without a byte that end the lingering early
_ENVIRON_KEY = "glance.client_body"
_logged_kinds: set[str] = set()


class SocketBody:
    """A body of known length, read from gunicorn's socket.

    Keeps gunicorn's own bookkeeping right (bytes it had already buffered
    are served first, what belongs to a next request is given back, the
    remaining length reaches zero) so the connection can be kept alive.
    """

    def __init__(self, reader, unreader):
        self._reader = reader
        self._unreader = unreader

    def read(self, size: int = -1) -> bytes | bytearray:
        left = self._reader.length
        if left <= 0:
            return b""
        want = left if size is None or size < 0 else min(size, left)
        buffered = self._unreader.take_buffered()
        if buffered:
            piece = buffered[:want]
            if len(buffered) > want:
                self._unreader.unread(buffered[want:])
            self._reader.length -= len(piece)
            return piece
        buf = bytearray(want)
        view, got = memoryview(buf), 0
        while got < want:
            n = self._unreader.sock.recv_into(view[got:])
            if n == 0:
                self._reader.length = 0
                raise ConnectionError("the client closed the connection with %d "
                                      "bytes of the body unsent" % (left - got))
            got += n
        self._reader.length -= got
        # The bytearray itself: copying it into bytes would double the
        # memory and the memory traffic of every chunk.
        return buf


class ChunkedBody:
    """A chunked body, as the pieces gunicorn's chunk parser yields."""

    def __init__(self, wsgi_input, reader):
        self._input = wsgi_input
        self._reader = reader
        self._rest = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if not self._rest:
            self._rest = memoryview(self._next_piece())
        if size is None or size < 0 or size >= len(self._rest):
            piece, self._rest = self._rest, memoryview(b"")
        else:
            piece, self._rest = self._rest[:size], self._rest[size:]
        return piece.obj if len(piece) == len(piece.obj) else bytes(piece)

    def _next_piece(self) -> bytes:
        parser = self._reader.parser
        if parser is None:
            return b""
        try:
            # The parser yields an empty piece when a socket read ended just
            # after a chunk-size line; only its end is the body's end.
            while not (piece := next(parser)):
                pass
            return piece
        except StopIteration:
            # As gunicorn's reader does at the end: nothing left to drain.
            self._reader.parser = None
            return b""
        except Exception:
            # As gunicorn's Body does: where the next request starts is unknown.
            self._input.failed = True
            raise


def raw_stream(environ: dict):
    """A file-like ``read(n)`` over the request body, the fastest this server allows."""
    wsgi_input = environ["wsgi.input"]
    reader = getattr(wsgi_input, "reader", None)
    unreader = getattr(reader, "unreader", None)
    kind = type(reader).__name__
    if (kind == "LengthReader"
            and hasattr(unreader, "take_buffered") and hasattr(unreader, "sock")):
        return _using(SocketBody(reader, unreader))
    buffered = getattr(reader, "buf", None)
    if (kind == "ChunkedReader" and hasattr(reader, "parser")
            and buffered is not None and buffered.tell() == 0):
        return _using(ChunkedBody(wsgi_input, reader))
    return _using(wsgi_input)


def _using(body):
    # Once per kind and process: an operator can see which path uploads take.
    kind = type(body).__name__
    if kind not in _logged_kinds:
        _logged_kinds.add(kind)
        LOG.info("Reading upload bodies with %s", kind)
    return body


class ClientDisconnected(BadRequest):
    """The client stopped sending before the body was complete."""


class ClientBody:
    """An upload's request body: a failed read is the client's failure.

    Marks those failures so they are not mistaken for store failures, and
    can drain a refused body so the client gets to read the answer.
    """

    def __init__(self, stream, connection: "Connection | None" = None):
        self._stream = stream
        self._connection = connection
        self._drained = False

    @classmethod
    def from_environ(cls, environ: dict) -> "ClientBody":
        """The body of the current WSGI request (one object per request)."""
        body = environ.get(_ENVIRON_KEY)
        if body is None:
            body = cls(raw_stream(environ), Connection.of(environ))
            environ[_ENVIRON_KEY] = body
        return body

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except Exception as exc:
            raise ClientDisconnected(
                "Client disconnected before sending all data to backend") from exc

    def drain(self, limit: int = DRAIN_LIMIT) -> None:
        """Read and drop the rest of a refused body (once; later calls do nothing).

        Up to ``limit`` bytes are read before the answer, which keeps the
        connection reusable. Beyond that the connection ends after the
        answer (see the module's docstring) when the server allows it.
        """
        if self._drained:
            return
        self._drained = True
        left = limit
        try:
            while left > 0:
                chunk = self._stream.read(min(left, 1 << 16))
                if not chunk:
                    return
                left -= len(chunk)
        except Exception as exc:  # the client went away: nothing left to tell it
            LOG.debug("Stopped draining a refused upload: %s", exc)
            return
        if self._connection is not None:
            self._connection.close_after_answer()


@contextlib.contextmanager
def drained_on_error(environ: dict) -> Iterator[None]:
    """Drain the request's body when the block raises: the refusal reaches the client.

    For handlers that may refuse an upload before reading its body.
    """
    try:
        yield
    except BaseException:
        ClientBody.from_environ(environ).drain()
        raise


class Connection:
    """The client's connection under gunicorn, ended cleanly after an answer."""

    def __init__(self, sock, response):
        self._sock = sock
        self._response = response

    @classmethod
    def of(cls, environ: dict) -> "Connection | None":
        """The request's connection; None under a server other than gunicorn."""
        sock = environ.get("gunicorn.socket")
        # gunicorn's Response is reachable only from the early-hints
        # callback, a closure over (req, sock, resp).
        response = _closure_value(environ.get("wsgi.early_hints"), "resp")
        if sock is None or not hasattr(response, "force_close"):
            return None
        return cls(sock, response)

    def close_after_answer(self) -> None:
        """Answer with ``Connection: close``, then end the connection cleanly."""
        self._response.force_close()
        if flask.has_request_context():
            flask.after_this_request(self._linger_after)

    def _linger_after(self, response: flask.Response) -> flask.Response:
        # Runs once the server has written the whole answer.
        response.call_on_close(self.linger)
        return response

    def linger(self, seconds: float = LINGER_SECONDS, idle: float = LINGER_IDLE) -> None:
        """Shut the write side, then read and drop what the client sends until
        it closes, it is ``idle`` seconds silent, or ``seconds`` have passed."""
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + seconds
        scratch = bytearray(1 << 16)
        dropped = 0
        try:
            while (left := deadline - time.monotonic()) > 0:
                self._sock.settimeout(min(left, idle))
                got = self._sock.recv_into(scratch)
                if not got:
                    return
                dropped += got
            LOG.info("Closing a refused upload's connection after %.0f s with "
                     "the client still sending", seconds)
        except OSError as exc:  # a timeout too: the client stopped sending
            LOG.debug("Stopped reading a refused upload after %d bytes: %s",
                      dropped, exc)


def _closure_value(func, name: str):
    """The value a closure ``func`` holds under ``name``; None when it holds none."""
    names = getattr(getattr(func, "__code__", None), "co_freevars", ())
    cells = getattr(func, "__closure__", None) or ()
    if name not in names or len(names) != len(cells):
        return None
    return cells[names.index(name)].cell_contents
