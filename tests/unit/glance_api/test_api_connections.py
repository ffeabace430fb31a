"""Kept-alive connections to the registry: reused, replaced when stale."""

from __future__ import annotations

import socket
import threading

import pytest

from glance_api.connections import ConnectionPool

ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          b"Content-Length: 2\r\n\r\n{}")


class RawServer:
    """A socket server acting out a script per request, for failure cases.

    Each request is answered by the next action: "answer" (and keep the
    connection), "answer-close" (answer, then close it without saying so)
    or "drop" (read the request, close without answering).
    """

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[tuple[int, bytes]] = []  # (client port, request line)
        self.closed = threading.Event()  # set when "answer-close" closed
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, peer = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn, peer[1]),
                             daemon=True).start()

    def _connection(self, conn, peer_port):
        with conn:
            buffered = b""
            while True:
                while b"\r\n\r\n" not in buffered:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffered += data
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffered) < length:
                    buffered += conn.recv(65536)
                buffered = buffered[length:]
                self.requests.append((peer_port, head.split(b"\r\n")[0]))
                action = self.script.pop(0) if self.script else "answer"
                if action == "drop":
                    return
                conn.sendall(ANSWER)
                if action == "answer-close":
                    conn.close()
                    self.closed.set()
                    return

    def close(self):
        self.listener.close()


@pytest.fixture
def server(request):
    srv = RawServer(getattr(request, "param", []))
    yield srv
    srv.close()


def pool_for(server, size=2):
    return ConnectionPool("http://127.0.0.1:%d" % server.port, size)


def test_consecutive_calls_share_one_connection(server):
    pool = pool_for(server)
    for _ in range(3):
        assert pool.request("GET", "/images", None, {}, 5).status == 200
    assert len({port for port, _ in server.requests}) == 1


@pytest.mark.parametrize("server", [["answer-close"]], indirect=True)
def test_a_connection_the_registry_closed_while_idle_is_replaced(server):
    pool = pool_for(server)
    pool.request("GET", "/images", None, {}, 5)
    assert server.closed.wait(5)
    answer = pool.request("POST", "/images", b"{}", {}, 5)
    assert answer.status == 200
    ports = [port for port, _ in server.requests]
    assert len(ports) == 2 and ports[0] != ports[1]


@pytest.mark.parametrize("server", [["answer", "drop"]], indirect=True)
def test_a_read_lost_on_a_reused_connection_is_sent_again(server):
    pool = pool_for(server)
    pool.request("GET", "/images", None, {}, 5)
    assert pool.request("GET", "/images/x", None, {}, 5).status == 200
    assert [line for _, line in server.requests] == [
        b"GET /images HTTP/1.1", b"GET /images/x HTTP/1.1", b"GET /images/x HTTP/1.1"]


@pytest.mark.parametrize("server", [["answer", "drop"]], indirect=True)
def test_a_create_lost_on_a_reused_connection_is_not_sent_twice(server):
    pool = pool_for(server)
    pool.request("GET", "/images", None, {}, 5)
    with pytest.raises(OSError):
        pool.request("POST", "/images", b"{}", {}, 5)
    assert [line for _, line in server.requests] == [
        b"GET /images HTTP/1.1", b"POST /images HTTP/1.1"]


def test_only_size_connections_are_kept(server):
    pool = pool_for(server, size=1)
    conns = [pool._checkout(5)[0] for _ in range(3)]
    for conn in conns:
        pool._checkin(conn)
    assert pool._idle.qsize() == 1
    assert sum(conn.sock is None for conn in conns) == 2


def test_nothing_listening_fails_after_the_connect_retries(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr("glance_api.connections.RETRY_BACKOFF", 0.001)
    pool = ConnectionPool("http://127.0.0.1:%d" % port, 2)
    with pytest.raises(ConnectionRefusedError):
        pool.request("GET", "/images", None, {}, 5)
