"""The s3 driver resumes a download cut mid-stream, against the test
cluster's s3api behind a proxy that cuts object GETs."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import urllib.parse
import uuid

import pytest

from glance_store import Stores
from glance_store import exceptions
from glance_store.drivers import s3

MiB = 1024 * 1024
IMAGE = (hashlib.sha256(b"resume").digest() * (5 * MiB // 32 + 11))[:5 * MiB + 333]


class CuttingProxy:
    """A TCP proxy that closes the next ``cuts`` object GETs after ``after``
    bytes of their answer (headers included), as a broken network would."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.cuts = 0
        self.after = 0
        self.ranges: list[str] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, cuts: int, after: int) -> None:
        """Cut the next ``cuts`` GETs after ``after`` bytes each."""
        with self._lock:
            self.cuts, self.after, self.ranges = cuts, after, []

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            connection = {"cut_at": None, "sent": 0}
            threading.Thread(target=self._requests, daemon=True,
                             args=(client, upstream, connection)).start()
            threading.Thread(target=self._answers, daemon=True,
                             args=(upstream, client, connection)).start()

    def _requests(self, client, upstream, connection) -> None:
        try:
            while data := client.recv(65536):
                if data.startswith(b"GET "):
                    self._on_get(data, connection)
                upstream.sendall(data)
        except OSError:
            pass
        _close(client, upstream)

    def _on_get(self, request: bytes, connection: dict) -> None:
        found = re.search(rb"\r\nrange: *(bytes=[0-9-]+)", request, re.IGNORECASE)
        with self._lock:
            if found:
                self.ranges.append(found.group(1).decode())
            connection["sent"] = 0
            connection["cut_at"] = None
            if found and self.cuts > 0:
                self.cuts -= 1
                connection["cut_at"] = self.after

    def _answers(self, upstream, client, connection) -> None:
        try:
            while data := upstream.recv(65536):
                cut_at = connection["cut_at"]
                if cut_at is not None and connection["sent"] + len(data) >= cut_at:
                    client.sendall(data[:cut_at - connection["sent"]])
                    break
                connection["sent"] += len(data)
                client.sendall(data)
        except OSError:
            pass
        _close(client, upstream)


def _close(*socks) -> None:
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


@pytest.fixture
def proxy(swift_cluster):
    url = urllib.parse.urlsplit(swift_cluster.s3_endpoint)
    made = CuttingProxy((url.hostname, url.port))
    yield made
    made.close()


@pytest.fixture
def driver(swift_cluster, proxy):
    bucket = "resume-%s" % uuid.uuid4().hex[:12]
    made = s3.S3Driver(host="http://127.0.0.1:%d" % proxy.port,
                       access_key=swift_cluster.user, secret_key=swift_cluster.key,
                       bucket=bucket, create_bucket=True,
                       url_format="path", large_object_size=MiB, chunk_size=MiB)
    yield made
    proxy.arm(0, 0)
    for obj in made.client.list_objects_v2(Bucket=bucket).get("Contents", []):
        made.client.delete_object(Bucket=bucket, Key=obj["Key"])
    made.client.delete_bucket(Bucket=bucket)


@pytest.fixture
def stored(driver, source):
    stores = Stores({"s3": driver}, default_store="s3")
    location = stores.add("img", source(IMAGE, piece=300_000), size=len(IMAGE)).location
    return stores, location


def _read(stores, location, **kwargs) -> bytes:
    with stores.get(location, **kwargs) as data:
        return b"".join(data)


def _starts(ranges: list[str]) -> list[int]:
    return [int(r.split("=")[1].split("-")[0]) for r in ranges]


def test_a_download_cut_twice_resumes_from_the_byte_where_it_broke(stored, proxy):
    stores, location = stored
    proxy.arm(cuts=2, after=MiB + 5)

    got = _read(stores, location)

    assert len(got) == len(IMAGE)
    assert hashlib.sha256(got).digest() == hashlib.sha256(IMAGE).digest()
    starts = _starts(proxy.ranges)
    assert len(starts) == 3 and starts[0] == 0
    # Each resumption asks from where the bytes stopped: strictly further on,
    # never from a byte already delivered twice or past one not delivered.
    assert 0 < starts[1] < starts[2] < len(IMAGE)
    assert all(r.endswith("-%d" % (len(IMAGE) - 1)) for r in proxy.ranges)


def test_a_ranged_read_resumes_within_its_range(stored, proxy):
    stores, location = stored
    proxy.arm(cuts=1, after=MiB // 2)

    got = _read(stores, location, offset=1000, length=3 * MiB)

    assert got == IMAGE[1000:1000 + 3 * MiB]
    assert proxy.ranges[0] == "bytes=1000-%d" % (1000 + 3 * MiB - 1)
    assert proxy.ranges[1].endswith("-%d" % (1000 + 3 * MiB - 1))
    assert 1000 < _starts(proxy.ranges)[1]


def test_a_download_that_keeps_breaking_fails_after_a_bounded_number_of_resumes(
        stored, proxy):
    stores, location = stored
    proxy.arm(cuts=s3.RESUMES + 1, after=MiB)

    with pytest.raises(exceptions.RemoteServiceUnavailable,
                       match="%d resumptions failed" % s3.RESUMES):
        _read(stores, location)

    assert len(proxy.ranges) == s3.RESUMES + 1


def test_an_uncut_download_is_one_get(stored, proxy):
    stores, location = stored
    proxy.arm(cuts=0, after=0)

    assert _read(stores, location) == IMAGE
    assert len(proxy.ranges) == 1
