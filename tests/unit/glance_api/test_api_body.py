"""Upload bodies read from gunicorn's own parsers, whatever the socket reads."""

from __future__ import annotations

import types

import pytest
from gunicorn.http.body import Body
from gunicorn.http.body import ChunkedReader
from gunicorn.http.body import LengthReader
from gunicorn.http.errors import ChunkMissingTerminator
from gunicorn.http.unreader import Unreader

from glance_api.data import body


class ScriptedUnreader(Unreader):
    """Gives the bytes in the pieces a socket's reads would have returned."""

    def __init__(self, pieces):
        super().__init__()
        self.pieces = list(pieces)

    def chunk(self, size_hint=None):
        return self.pieces.pop(0) if self.pieces else b""


def chunked_stream(pieces):
    unreader = ScriptedUnreader(pieces)
    req = types.SimpleNamespace(limit_request_field_size=8190,
                                max_buffer_headers=32768, trailers=None)
    reader = ChunkedReader(req, unreader)
    wsgi_input = Body(reader)
    stream = body.raw_stream({"wsgi.input": wsgi_input})
    assert isinstance(stream, body.ChunkedBody)
    return stream, unreader


def read_all(stream, size=-1):
    data = b""
    while piece := stream.read(size):
        data += bytes(piece)
    return data


@pytest.mark.parametrize("pieces", [
    # Each read ends right after a chunk-size line: the parser then yields
    # an empty piece, which is not the end of the body.
    [b"3\r\n", b"abc\r\n5\r\n", b"defgh\r\n0\r\n\r\n"],
    [b"3\r\nabc\r\n5\r\n", b"defgh\r\n0\r\n\r\n"],
    [b"3\r\nab", b"c\r\n5\r\nd", b"efgh\r\n0\r\n\r\n"],
    [b"3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"],
])
@pytest.mark.parametrize("size", [-1, 1, 2, 1 << 20])
def test_a_chunked_body_is_read_whole_wherever_the_reads_end(pieces, size):
    stream, _ = chunked_stream(pieces)
    assert read_all(stream, size) == b"abcdefgh"


def test_what_follows_a_chunked_body_stays_for_the_next_request():
    stream, unreader = chunked_stream([b"2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n"])
    assert read_all(stream) == b"hi"
    assert unreader.read() == b"GET / HTTP/1.1\r\n"


def test_a_malformed_chunk_fails_the_connection():
    stream, _ = chunked_stream([b"2\r\nhiXX0\r\n\r\n"])
    with pytest.raises(ChunkMissingTerminator):
        read_all(stream)
    assert stream._input.failed is True


def test_a_body_of_known_length_stops_at_its_length():
    unreader = ScriptedUnreader([])
    unreader.sock = None  # everything needed is already buffered
    unreader.unread(b"hello world, and the next request")
    reader = LengthReader(unreader, 11)
    stream = body.raw_stream({"wsgi.input": Body(reader)})
    assert isinstance(stream, body.SocketBody)
    assert read_all(stream, 4) == b"hello world"
    assert unreader.read() == b", and the next request"


def _parsed(raw: bytes):
    """gunicorn's own parser reading one request from a real socket."""
    import socket

    from gunicorn.config import Config
    from gunicorn.http.parser import RequestParser

    server, client = socket.socketpair()
    client.sendall(raw)
    client.shutdown(socket.SHUT_WR)
    request = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    return request, server, client


@pytest.mark.parametrize("raw, fast_path", [
    (b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
     body.SocketBody),
    (b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", body.ChunkedBody),
])
def test_gunicorns_private_readers_still_have_the_shape_body_relies_on(raw, fast_path):
    # body.py reads gunicorn's private objects (setup.cfg pins its major
    # version). If a gunicorn release changes them, uploads would silently
    # fall back to the slow path: this fails loudly instead.
    request, server, client = _parsed(raw)
    try:
        stream = body.raw_stream({"wsgi.input": request.body})
        assert type(stream) is fast_path
        assert read_all(stream) == b"hello world"
    finally:
        server.close()
        client.close()
