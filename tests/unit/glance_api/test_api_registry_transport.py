"""The registry client's transport: kept-alive connections the registry
dropped, refused connects, answers lost after the call was sent.

A small HTTP server on 127.0.0.1 stands in for the registry: each test needs
it to misbehave in one exact way (drop an idle connection, read a call and
hang up) that a real registry only does by accident.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from glance_api import registry_client
from glance_api.registry_client import RegistryClient
from glance_common.context import RequestContext
from tests.waiting import poll_until

ADMIN = RequestContext.build("u", "p", ["admin"])
IMAGE_ID = "0d5e9a2b-6b9e-4a57-9a8f-2f1d6b0c6c11"
ANSWER = json.dumps({"image": {"id": IMAGE_ID}}).encode()


class Registry:
    """Answers every call with one image; ``mode`` says what it does after.

    keep: keeps the connection, as a registry does.
    drop: answers, then closes the connection without saying so (a restart
          or its keep-alive timeout, as a kept-alive client sees it).
    hang_up: reads the call and closes without answering (an answer lost).
    """

    def __init__(self, mode: str = "keep"):
        self.mode = mode
        self.calls: list[str] = []
        self.closed = 0  # connections this side has closed
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        with conn, conn.makefile("rb") as reader:
            while True:
                request_line = reader.readline()
                if not request_line:
                    break
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                reader.read(length)
                self.calls.append(request_line.split()[0].decode())
                if self.mode == "hang_up":
                    break
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER))
                if self.mode == "drop":
                    break
        self.closed += 1

    def stop(self):
        self.listener.close()


@pytest.fixture
def registry(request):
    server = Registry(getattr(request, "param", "keep"))
    yield server
    server.stop()


def test_calls_share_one_kept_alive_connection(registry):
    client = RegistryClient(registry.url, timeout=5)
    for _ in range(3):
        assert client.get(ADMIN, IMAGE_ID)["id"] == IMAGE_ID
    client.close()
    assert registry.calls == ["GET"] * 3
    assert poll_until(lambda: registry.closed == 1, timeout=5)


@pytest.mark.parametrize("registry", ["drop"], indirect=True)
def test_a_connection_the_registry_dropped_is_replaced_before_a_get_or_a_post(registry):
    client = RegistryClient(registry.url, timeout=5)
    client.get(ADMIN, IMAGE_ID)
    assert poll_until(lambda: registry.closed == 1, timeout=5)
    # A POST is never sent twice, so it must not go out on the dead one.
    assert client.create(ADMIN, {"name": "x"})["id"] == IMAGE_ID
    assert poll_until(lambda: registry.closed == 2, timeout=5)
    assert client.get(ADMIN, IMAGE_ID)["id"] == IMAGE_ID
    assert registry.calls == ["GET", "POST", "GET"]


@pytest.mark.parametrize("registry", ["hang_up"], indirect=True)
def test_a_get_whose_answer_was_lost_is_sent_once_more_then_unavailable(registry):
    client = RegistryClient(registry.url, timeout=5)
    with pytest.raises(registry_client.Unavailable):
        client.get(ADMIN, IMAGE_ID)
    assert registry.calls == ["GET", "GET"]


@pytest.mark.parametrize("registry", ["hang_up"], indirect=True)
def test_a_write_whose_answer_was_lost_is_not_sent_again(registry):
    client = RegistryClient(registry.url, timeout=5)
    with pytest.raises(registry_client.Unavailable):
        client.update(ADMIN, IMAGE_ID, {"name": "y"}, from_state="active")
    with pytest.raises(registry_client.Unavailable):
        client.create(ADMIN, {"name": "x"})
    assert registry.calls == ["PUT", "POST"]


def test_a_registry_that_refuses_connections_is_unavailable():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    client = RegistryClient("http://127.0.0.1:%d" % port, timeout=5)
    with pytest.raises(registry_client.Unavailable, match="registry is unavailable"):
        client.create(ADMIN, {"name": "x"})
