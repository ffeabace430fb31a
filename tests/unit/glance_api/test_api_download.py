"""Download bodies count the bytes that really left, however they were sent."""

from __future__ import annotations

import io
import socket
import threading

import pytest

from glance_api.data import download
from glance_api.data.download import SentChunks
from glance_api.data.download import SentFile
from glance_api.exceptions import ServiceUnavailable
from glance_store import Stores
from glance_store import exceptions as store_exc
from glance_store.drivers.filesystem import FilesystemDriver
from tests.unit.glance_api.api_support import file_stores

SIZE = 8 * 1024 * 1024


def _image_file(tmp_path, size=SIZE):
    path = tmp_path / "image"
    path.write_bytes(b"x" * size)
    return open(path, "rb", buffering=0)


def _receiver(sock, limit=None):
    got = []

    def run():
        total = 0
        while limit is None or total < limit:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            total += len(chunk)
        got.append(total)
        sock.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, got


def test_a_whole_file_sent_by_the_kernel_counts_every_byte(tmp_path):
    reported = []
    body = SentFile(_image_file(tmp_path), SIZE, reported.append)
    server, client = socket.socketpair()
    thread, got = _receiver(client)
    with server:
        # What gunicorn does: sendfile from the current offset, then rewind.
        assert server.sendfile(body, offset=0, count=SIZE) == SIZE
        body.close()
    thread.join()
    assert reported == [SIZE] == got


def test_a_sendfile_cut_short_counts_what_the_kernel_took(tmp_path):
    reported = []
    body = SentFile(_image_file(tmp_path), SIZE, reported.append)
    server, client = socket.socketpair()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    thread, got = _receiver(client, limit=1024 * 1024)
    with server:
        try:
            server.sendfile(body, offset=0, count=SIZE)
        except OSError:
            pass  # the receiver hung up
        body.close()
    thread.join()
    assert got[0] <= reported[0] < SIZE


def test_a_file_read_in_chunks_counts_only_chunks_the_server_wrote(tmp_path):
    reported = []
    body = SentFile(_image_file(tmp_path, 100), 100, reported.append)
    assert len(body.read(40)) == 40
    assert len(body.read(40)) == 40  # the first 40 were written
    body.close()  # the write of the second chunk failed
    assert reported == [40]


def test_reads_stop_at_the_image_size(tmp_path):
    reported = []
    body = SentFile(_image_file(tmp_path, 100), 60, reported.append)
    assert len(body.read(50)) == 50
    assert len(body.read(50)) == 10
    assert body.read(50) == b""
    body.close()
    body.close()
    assert reported == [60]


def test_chunks_count_when_the_next_is_asked_for_or_the_body_ends():
    reported, released = [], []
    body = SentChunks([b"a" * 10, b"b" * 20], reported.append,
                      release=lambda: released.append(True))
    assert list(body) == [b"a" * 10, b"b" * 20]
    body.close()
    assert reported == [30] and released == [True]

    reported.clear()
    body = SentChunks(iter([b"a" * 10, b"b" * 20, b"c"]), reported.append)
    next(body), next(body)
    body.close()
    assert reported == [10]


def _stored(tmp_path, data: bytes):
    stores = file_stores(tmp_path)
    added = stores.add("0b3a6c1e-8a43-4d5c-9e1f-2a3b4c5d6e7f", io.BytesIO(data))
    image = {"id": "i", "status": "active", "size": added.size,
             "locations": [{"url": added.location, "metadata": {"store": "file"}}]}
    return stores, image


def test_a_byte_range_of_an_image_is_read_from_its_offset(tmp_path):
    stores, image = _stored(tmp_path, b"0123456789")
    with download.open_image(stores, image, offset=3, length=4) as data:
        assert data.size == 4
        assert b"".join(data) == b"3456"


def test_a_stored_file_of_the_wrong_size_is_never_sent(tmp_path):
    stores, image = _stored(tmp_path, b"0123456789")
    image["size"] = 11
    with pytest.raises(ServiceUnavailable, match="refusing to send a corrupt image"):
        download.open_image(stores, image)


def test_an_image_without_data_has_an_empty_body(tmp_path):
    sent = []
    assert download.open_image(file_stores(tmp_path),
                               {"id": "i", "size": 0, "locations": []}) is None
    body = download.response_body({}, None, sent.append)
    assert list(body) == []
    body.close()
    assert sent == [0]


def _two_stores(tmp_path):
    """Multi-store: "slow" (weight 0) and "fast" (weight 10), both file stores."""
    drivers = {name: FilesystemDriver([(str(tmp_path / name), 0)]) for name in ("slow", "fast")}
    for name in drivers:
        (tmp_path / name).mkdir()
    return Stores(drivers, default_store="slow", multistore=True, weights={"fast": 10})


def _copies(tmp_path, data: bytes):
    stores = _two_stores(tmp_path)
    locations = []
    for name in ("slow", "fast"):
        added = stores.add("0b3a6c1e-8a43-4d5c-9e1f-2a3b4c5d6e7f", io.BytesIO(data), store=name)
        locations.append({"url": added.location, "metadata": {"store": name},
                          "status": "active"})
    return stores, {"id": "i", "status": "active", "size": len(data), "locations": locations}


def test_locations_are_ordered_by_their_stores_weight(tmp_path):
    stores, image = _copies(tmp_path, b"0123456789")
    image["locations"].append({"url": "file:///gone", "metadata": {}, "status": "deleted"})

    ordered = download.ordered_locations(stores, image)

    assert [download.store_of(loc) for loc in ordered] == ["fast", "slow"]


def test_a_download_reads_the_heaviest_copy_and_falls_back_when_it_is_gone(tmp_path):
    stores, image = _copies(tmp_path, b"0123456789")
    fast = image["locations"][1]["url"]
    with download.open_image(stores, image) as data:
        assert data.fileobj.name == str(tmp_path / "fast" / "0b3a6c1e-8a43-4d5c-9e1f-2a3b4c5d6e7f")

    stores.delete(fast, store="fast")
    with download.open_image(stores, image) as data:
        assert b"".join(data) == b"0123456789"


def test_when_no_copy_opens_the_last_error_is_raised(tmp_path):
    stores, image = _copies(tmp_path, b"0123456789")
    for location in image["locations"]:
        stores.delete(location["url"])

    with pytest.raises(store_exc.NotFound):
        download.open_image(stores, image)
