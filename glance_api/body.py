"""The body of an upload request, read with as few copies as the server allows.

gunicorn's own reader passes every byte through a BytesIO several times
(write, getvalue, slices); for a body of known length that was about 40 % of
an upload's request thread. When the request comes from gunicorn with a
Content-Length, the body is read straight from its socket into one buffer
per chunk; anything else (chunked bodies, other servers) reads the WSGI input.
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

    def read(self, size: int = -1) -> bytes:
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
        return bytes(buf)


def stream(environ: dict):
    """A file-like ``read(n)`` over the request body."""
    wsgi_input = environ["wsgi.input"]
    reader = getattr(wsgi_input, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if (type(reader).__name__ == "LengthReader"
            and hasattr(unreader, "take_buffered") and hasattr(unreader, "sock")):
        return SocketBody(reader, unreader)
    return wsgi_input
