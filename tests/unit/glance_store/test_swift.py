"""The swift driver against a real Swift cluster: segments, resume, errors."""

from __future__ import annotations

import hashlib
import socket
import threading
import uuid

import pytest
from oslo_config import cfg

import glance_store
from glance_store import Stores
from glance_store import exceptions
from glance_store.driver import Capability
from glance_store.drivers.swift import SwiftDriver

MiB = 1024 * 1024


def pattern(size: int) -> bytes:
    """``size`` bytes that differ from segment to segment."""
    block = hashlib.sha256(b"seed").digest() * (MiB // 32)
    out = bytearray()
    n = 0
    while len(out) < size:
        out += hashlib.sha256(str(n).encode()).digest() + block[:MiB - 32]
        n += 1
    return bytes(out[:size])


@pytest.fixture
def container():
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_driver(swift_cluster, container):
    def make(**kwargs):
        options = dict(auth_address=swift_cluster.auth_url,
                       user=swift_cluster.user, key=swift_cluster.key,
                       auth_version="1", container=container,
                       create_container=True, large_object_size=MiB,
                       chunk_size=MiB)
        options.update(kwargs)
        return SwiftDriver(**options)
    return make


@pytest.fixture
def stores(make_driver):
    return Stores({"swift": make_driver()}, default_store="swift")


def read_all(stores, location, **kwargs) -> bytes:
    with stores.get(location, **kwargs) as data:
        return b"".join(data)


def test_the_cluster_refuses_objects_above_its_size_limit(
        swift_cluster, make_driver, source, container):
    assert swift_cluster.info()["swift"]["max_file_size"] == 4 * MiB
    driver = make_driver(large_object_size=8 * MiB)
    stores = Stores({"swift": driver}, default_store="swift")
    image = pattern(5 * MiB)

    with pytest.raises(exceptions.StorageFull, match="413"):
        stores.add("too-big", source(image), size=len(image))
    assert swift_cluster.list_container(container) == []


@pytest.mark.parametrize("declared", [True, False])
def test_an_image_beyond_the_object_limit_is_stored_as_glance_segments(
        swift_cluster, make_driver, source, container, declared):
    driver = make_driver(large_object_size=4 * MiB, chunk_size=4 * MiB)
    stores = Stores({"swift": driver}, default_store="swift")
    image = pattern(3 * 4 * MiB + 12345)   # 3 x the cluster's limit, and a bit

    result = stores.add("big", source(image, piece=300_000),
                        size=len(image) if declared else None)

    assert result.location == (f"swift+http://127.0.0.1:"
                               f"{swift_cluster.ports['proxy']}/auth/v1.0/"
                               f"{container}/big")
    assert result.checksum == hashlib.md5(image).hexdigest()
    assert swift_cluster.list_container(container) == [
        "big", "big-00001", "big-00002", "big-00003", "big-00004"]
    conn = swift_cluster.connection()
    assert conn.head_object(container, "big")["x-object-manifest"] == \
        f"{container}/big-"
    assert [int(conn.head_object(container, f"big-0000{n}")
                ["content-length"]) for n in range(1, 5)] == \
        [4 * MiB, 4 * MiB, 4 * MiB, 12345]
    assert stores.get_size(result.location) == len(image)
    assert read_all(stores, result.location) == image
    assert read_all(stores, result.location, offset=4 * MiB - 10,
                    length=4 * MiB + 20) == image[4 * MiB - 10:8 * MiB + 10]


def test_an_image_of_unknown_size_within_one_segment_is_one_object(
        swift_cluster, stores, source, container):
    image = pattern(MiB - 1)

    result = stores.add("small", source(image))

    assert swift_cluster.list_container(container) == ["small"]
    assert "x-object-manifest" not in swift_cluster.connection().head_object(
        container, "small")
    assert read_all(stores, result.location) == image


class ListingSource:
    """An upload stream that fails on its Nth read, after noting what the
    container held at that moment (so the test knows segments were there)."""

    def __init__(self, data, cluster, container, fail_on_read, piece):
        self._data = memoryview(data)
        self._cluster = cluster
        self._container = container
        self._fail_on_read = fail_on_read
        self._piece = piece
        self.reads = 0
        self.seen_at_failure = None

    def read(self, size=-1):
        self.reads += 1
        if self.reads == self._fail_on_read:
            self.seen_at_failure = self._cluster.list_container(
                self._container)
            raise ConnectionResetError("client went away")
        size = min(size if size >= 0 else len(self._data), self._piece)
        chunk, self._data = self._data[:size], self._data[size:]
        return bytes(chunk)


@pytest.mark.parametrize("declared", [True, False])
def test_a_failed_segmented_upload_removes_every_segment(
        swift_cluster, stores, container, declared):
    image = pattern(6 * MiB)
    stream = ListingSource(image, swift_cluster, container,
                           fail_on_read=11, piece=MiB // 4)

    with pytest.raises(ConnectionResetError):
        stores.add("broken", stream, size=len(image) if declared else None)

    assert stream.seen_at_failure == ["broken-00001", "broken-00002"]
    assert swift_cluster.list_container(container) == []


def test_a_checksum_mismatch_after_the_last_segment_removes_all(
        swift_cluster, stores, source, container):
    image = pattern(3 * MiB + 5)

    with pytest.raises(exceptions.ChecksumMismatch):
        stores.add("bad", source(image), checksum="0" * 32)

    assert swift_cluster.list_container(container) == []


def test_delete_removes_the_manifest_and_its_segments(
        swift_cluster, stores, source, container):
    image = pattern(3 * MiB)
    kept = stores.add("kept", source(b"other image"))
    result = stores.add("img", source(image), size=len(image))
    assert len(swift_cluster.list_container(container)) == 5

    stores.delete(result.location)

    assert swift_cluster.list_container(container) == ["kept"]
    assert read_all(stores, kept.location) == b"other image"


def test_an_image_glance_wrote_is_read_and_deleted(
        swift_cluster, stores, container):
    """Glance's layout, written by hand as Glance wrote it."""
    conn = swift_cluster.connection()
    conn.put_container(container)
    image_id = str(uuid.uuid4())
    pieces = [pattern(MiB), b"second", b"third segment"]
    for number, piece in enumerate(pieces, 1):
        conn.put_object(container, f"{image_id}-{number:05d}", piece)
    conn.put_object(container, image_id, b"", headers={
        "X-Object-Manifest": f"{container}/{image_id}-"})
    # Glance put the account's credentials in the URI; they are ignored.
    location = (f"swift+http://test%3Atester:testing@127.0.0.1:"
                f"{swift_cluster.ports['proxy']}/auth/v1.0/{container}/"
                f"{image_id}")

    assert read_all(stores, location) == b"".join(pieces)
    stores.delete(location)
    assert swift_cluster.list_container(container) == []


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 that breaks one connection mid-response.

    Once armed, the first connection whose responses pass ``cut_after``
    bytes is closed at that point, like a network failure mid-download.
    It also records the Range header of each request it forwards.
    """

    def __init__(self, port: int) -> None:
        self._target = ("127.0.0.1", port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.cut_after: int | None = None
        self.cuts = 0
        self.ranges: list[str] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._start(self._accept)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            self._sockets += [client, server]
            self._start(self._upstream, client, server)
            self._start(self._downstream, server, client)

    def _upstream(self, client, server) -> None:
        while data := self._recv(client):
            for line in data.split(b"\r\n"):
                if line.lower().startswith(b"range:"):
                    self.ranges.append(line.split(b":", 1)[1].strip()
                                       .decode())
            server.sendall(data)
        self._close(client, server)

    def _downstream(self, server, client) -> None:
        sent = 0
        while data := self._recv(server):
            with self._lock:
                limit = self.cut_after
                if limit is not None and sent + len(data) > limit:
                    self.cut_after = None
                    self.cuts += 1
                    client.sendall(data[:limit - sent])
                    break
            client.sendall(data)
            sent += len(data)
        self._close(client, server)

    @staticmethod
    def _recv(sock) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    @staticmethod
    def _close(*socks) -> None:
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def stop(self) -> None:
        self._close(self._listener)   # shutdown() wakes the accept()
        self._close(*self._sockets)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def cutting_proxy(swift_cluster):
    proxy = CuttingProxy(swift_cluster.ports["proxy"])
    yield proxy
    proxy.stop()


@pytest.mark.parametrize("size", [3 * MiB, 3 * MiB + 17])
def test_a_download_cut_mid_stream_resumes_with_a_ranged_request(
        make_driver, source, cutting_proxy, size):
    driver = make_driver(
        auth_address=f"http://127.0.0.1:{cutting_proxy.port}/auth/v1.0")
    stores = Stores({"swift": driver}, default_store="swift")
    image = pattern(size)
    result = stores.add("img", source(image), size=len(image))
    cutting_proxy.ranges.clear()
    cutting_proxy.cut_after = MiB + 1000

    assert read_all(stores, result.location, offset=10) == image[10:]

    assert cutting_proxy.cuts == 1
    first, resumed = cutting_proxy.ranges
    assert first == f"bytes=10-{size - 1}"
    start = int(resumed.removeprefix("bytes=").split("-")[0])
    assert 10 < start < MiB + 1000 and resumed.endswith(f"-{size - 1}")


def test_a_download_that_keeps_breaking_fails_after_its_retries(
        make_driver, source, cutting_proxy):
    driver = make_driver(
        auth_address=f"http://127.0.0.1:{cutting_proxy.port}/auth/v1.0",
        retry_get_count=0)
    stores = Stores({"swift": driver}, default_store="swift")
    image = pattern(3 * MiB)
    result = stores.add("img", source(image), size=len(image))
    cutting_proxy.cut_after = MiB

    with pytest.raises(exceptions.RemoteServiceUnavailable,
                       match="broke at byte"):
        read_all(stores, result.location)


def test_a_second_upload_of_the_same_id_is_a_duplicate(stores, source,
                                                       swift_cluster,
                                                       container):
    stores.add("img", source(b"first"))

    with pytest.raises(exceptions.Duplicate):
        stores.add("img", source(b"second"))
    assert swift_cluster.list_container(container) == ["img"]


def test_a_missing_container_is_created_only_when_configured(
        make_driver, source, swift_cluster, container):
    stores = Stores({"swift": make_driver(create_container=False)},
                    default_store="swift")

    with pytest.raises(exceptions.StorageWriteDenied,
                       match="create_container_on_put"):
        stores.add("img", source(b"data"))


def test_a_wrong_key_is_denied_for_writes_and_unavailable_for_reads(
        make_driver, stores, source):
    location = stores.add("img", source(b"data")).location
    wrong = Stores({"swift": make_driver(key="wrong")}, default_store="swift")

    with pytest.raises(exceptions.StorageWriteDenied, match="401"):
        wrong.add("img2", source(b"data"))
    with pytest.raises(exceptions.RemoteServiceUnavailable, match="401"):
        wrong.get_size(location)


def test_an_unreachable_cluster_is_unavailable(source):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    driver = SwiftDriver(auth_address=f"http://127.0.0.1:{port}/auth/v1.0",
                         user="test:tester", key="testing", auth_version="1",
                         retries=0)
    stores = Stores({"swift": driver}, default_store="swift")

    with pytest.raises(exceptions.RemoteServiceUnavailable):
        stores.add("img", source(b"data"))
    with pytest.raises(exceptions.RemoteServiceUnavailable):
        stores.get_size(f"swift+http://127.0.0.1:{port}/auth/v1.0/glance/x")


def test_discard_partial_removes_orphan_segments_only(
        swift_cluster, stores, source, container):
    complete = stores.add("whole", source(pattern(2 * MiB + 1)))
    conn = swift_cluster.connection()
    for number in (1, 2):   # an upload whose process died
        conn.put_object(container, f"dead-{number:05d}", b"partial")
    conn.put_object(container, "dead-other", b"not a segment")

    assert stores.discard_partial("dead") == 2
    assert stores.discard_partial("whole") == 0
    assert swift_cluster.list_container(container) == [
        "dead-other", "whole", "whole-00001", "whole-00002", "whole-00003"]
    assert read_all(stores, complete.location) == pattern(2 * MiB + 1)


def test_segments_a_failed_upload_left_do_not_join_the_next_upload(
        swift_cluster, stores, source, container):
    # Swift was gone when the first attempt failed, so its segments stayed;
    # the manifest of the next attempt names every <id>-* object.
    conn = swift_cluster.connection()
    conn.put_container(container)
    for number in (1, 2, 3):
        conn.put_object(container, f"again-{number:05d}", pattern(MiB))
    image = pattern(MiB + MiB // 2)

    result = stores.add("again", source(image))

    assert read_all(stores, result.location) == image
    assert swift_cluster.list_container(container) == [
        "again", "again-00001", "again-00002"]


@pytest.mark.parametrize("location", [
    "swift+http://other.example.com/auth/v1.0/glance/img",
    "swift+http://127.0.0.1:1/auth/v2/glance/img",
    "swift+http://127.0.0.1:1/auth/v1.0/img",
    "swift+http://127.0.0.1:1/auth/v1.0/glance/img?x=1",
    "file:///auth/v1.0/glance/img",
])
def test_locations_of_other_clusters_or_malformed_are_refused(location):
    driver = SwiftDriver(auth_address="http://127.0.0.1:1/auth/v1.0",
                         user="u", key="k", auth_version="1")

    with pytest.raises(exceptions.BadStoreURI):
        driver.get_size(location)


def test_locations_carry_no_credentials_and_glance_forms_parse():
    driver = SwiftDriver(auth_address="https://keystone.example.com:5000/v3/",
                         user="project:glance", key="secret")

    assert driver._location("glance", "img") == \
        "swift+https://keystone.example.com:5000/v3/glance/img"
    assert driver._parse("swift+https://project%3Aglance:secret@"
                         "keystone.example.com:5000/v3/glance/img") == \
        ("glance", "img")
    assert driver._parse("swift+config://ref1/other/img") == ("other", "img")


@pytest.fixture
def conf(tmp_path):
    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    conf([])
    conf.set_override("filesystem_store_datadir", str(tmp_path),
                      "glance_store")
    return conf


def test_keystone_v3_options_reach_swiftclient(conf):
    for name, value in {
            "stores": ["file", "swift"],
            "swift_store_auth_address": "https://keystone.example.com/v3",
            "swift_store_user": "service:glance",
            "swift_store_key": "secret",
            "swift_store_user_domain_name": "users",
            "swift_store_project_domain_name": "projects",
            "swift_store_region": "RegionTwo",
            "swift_store_endpoint_type": "internalURL",
            "swift_store_large_object_size": 10,
            "swift_store_large_object_chunk_size": 3}.items():
        conf.set_override(name, value, "glance_store")

    driver = Stores.from_conf(conf).driver("swift")
    conn = driver.connection()

    assert (conn.authurl, conn.user, conn.key, conn.auth_version) == (
        "https://keystone.example.com/v3", "glance", "secret", "3")
    assert conn.os_options == {
        "endpoint_type": "internalURL", "service_type": "object-store",
        "region_name": "RegionTwo", "project_name": "service",
        "tenant_name": "service", "user_domain_name": "users",
        "project_domain_name": "projects"}
    assert (driver._large_object_size, driver._chunk_size) == (10 * MiB,
                                                               3 * MiB)


def test_the_configured_swift_store_round_trips(conf, swift_cluster, source,
                                                container):
    for name, value in {
            "stores": ["file", "http", "swift"], "default_store": "swift",
            "swift_store_auth_address": swift_cluster.auth_url,
            "swift_store_auth_version": "1",
            "swift_store_user": swift_cluster.user,
            "swift_store_key": swift_cluster.key,
            "swift_store_container": container,
            "swift_store_create_container_on_put": True}.items():
        conf.set_override(name, value, "glance_store")
    stores = Stores.from_conf(conf)

    result = stores.add("img", source(b"configured"))

    assert result.store == "swift"
    assert read_all(stores, result.location) == b"configured"
    assert swift_cluster.list_container(container) == ["img"]


def test_a_refused_glance_location_does_not_echo_its_credentials():
    driver = SwiftDriver(auth_address="http://127.0.0.1:1/auth/v1.0",
                         user="u", key="k", auth_version="1")

    with pytest.raises(exceptions.BadStoreURI) as raised:
        driver.get_size("swift+http://acct%3Auser:s3cret@elsewhere/auth/"
                        "glance/img")
    assert "s3cret" not in str(raised.value)


def test_the_listing_pages_through_the_container_and_narrows_by_prefix(
        swift_cluster, make_driver, stores, container, monkeypatch):
    from glance_store.drivers import swift as swift_module

    monkeypatch.setattr(swift_module, "LISTING_PAGE", 2)
    driver = make_driver()
    assert Capability.LIST in driver.capabilities
    assert list(driver.listing()) == []   # no container yet: nothing was written
    conn = swift_cluster.connection()
    conn.put_container(container)
    contents = {"a": b"", "a-00001": b"1" * 10, "a-00002": b"2" * 3,
                "b": b"bb", "c-00001": b"c"}
    for name, body in contents.items():
        conn.put_object(container, name, body)

    listed = list(driver.listing())

    assert [(entry.name, entry.size) for entry in listed] == [
        (name, len(body)) for name, body in sorted(contents.items())]
    assert [entry.name for entry in driver.listing("a-")] == ["a-00001", "a-00002"]
    # Each entry's location is one the driver reads and deletes by.
    segment = listed[1]
    assert read_all(stores, segment.location) == b"1" * 10
    driver.delete(segment.location)
    assert [entry.name for entry in driver.listing("a-")] == ["a-00002"]


def test_an_unreachable_cluster_cannot_be_listed():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    driver = SwiftDriver(auth_address=f"http://127.0.0.1:{port}/auth/v1.0",
                         user="u", key="k", retries=0)
    with pytest.raises(exceptions.RemoteServiceUnavailable):
        list(driver.listing())
