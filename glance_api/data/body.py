"""The body of an upload request, read with as few copies as the server allows.

gunicorn's own reader passes every byte through a BytesIO several times
(write, getvalue, slices): about 40 % of an upload's request thread. Under
gunicorn, a body with a Content-Length is read straight from the socket into
one buffer per chunk, and a chunked body is taken piece by piece from
gunicorn's own chunk parser (its limits and checks stay in force) without
the BytesIO. Anything else (other servers) reads the WSGI input.

This module is the only one that knows gunicorn's private reader objects.
setup.cfg pins the gunicorn major version they were read from, and
tests/unit/glance_api/data/test_body.py fails loudly if their shape changes.
"""

from __future__ import annotations

import logging

from glance_api.exceptions import BadRequest

LOG = logging.getLogger(__name__)
DRAIN_LIMIT = 64 * 1024 * 1024  # bytes of a refused upload read to deliver the answer
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

    def __init__(self, stream):
        self._stream = stream

    @classmethod
    def from_environ(cls, environ: dict) -> "ClientBody":
        """The body of the current WSGI request."""
        return cls(raw_stream(environ))

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except Exception as exc:
            raise ClientDisconnected(
                "Client disconnected before sending all data to backend") from exc

    def drain(self, limit: int = DRAIN_LIMIT) -> None:
        """Read and drop the rest of a refused body.

        A server that closes a connection with unread data makes TCP reset
        it, and the client loses the answer it was sent. Beyond ``limit``
        bytes the connection is dropped anyway: reading a huge refused
        upload to the end would cost more than the answer is worth.
        """
        left = limit
        try:
            while left > 0:
                chunk = self._stream.read(min(left, 1 << 16))
                if not chunk:
                    return
                left -= len(chunk)
        except Exception as exc:  # the client went away: nothing left to tell it
            LOG.debug("Stopped draining a refused upload: %s", exc)
