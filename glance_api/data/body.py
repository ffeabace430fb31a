"""The body of an upload request, read with as few copies as the server allows.

gunicorn's own reader passes every byte through a BytesIO several times
(write, getvalue, slices): about 40 % of an upload's request thread. Under
gunicorn, a body with a Content-Length is read straight from the socket into
one buffer per chunk, and a chunked body is taken piece by piece from
gunicorn's own chunk parser (its limits and checks stay in force) without
the BytesIO. Anything else (other servers) reads the WSGI input.
"""

from __future__ import annotations


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


def stream(environ: dict):
    """A file-like ``read(n)`` over the request body."""
    wsgi_input = environ["wsgi.input"]
    reader = getattr(wsgi_input, "reader", None)
    unreader = getattr(reader, "unreader", None)
    kind = type(reader).__name__
    if (kind == "LengthReader"
            and hasattr(unreader, "take_buffered") and hasattr(unreader, "sock")):
        return SocketBody(reader, unreader)
    buffered = getattr(reader, "buf", None)
    if (kind == "ChunkedReader" and hasattr(reader, "parser")
            and buffered is not None and buffered.tell() == 0):
        return ChunkedBody(wsgi_input, reader)
    return wsgi_input
