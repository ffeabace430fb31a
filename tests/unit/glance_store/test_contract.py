"""The contract every writable store driver keeps, run over each of them.

To add a driver, add one entry to BACKENDS: a function that builds a
Stores holding only that driver, and lists every object it stores. The
swift and s3 backends run against the real Swift cluster of the
``swift_cluster`` fixture (s3 through its s3api), each test in a new
container or bucket; "swift-segmented" stores every image above 1 MiB as
Glance-style segments and a manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import uuid
from collections.abc import Callable

import pytest

from glance_store import CHUNK_SIZE
from glance_store import Stores
from glance_store import exceptions
from glance_store.drivers.filesystem import FilesystemDriver

MiB = 1024 * 1024


@dataclasses.dataclass
class Backend:
    stores: Stores
    leftovers: Callable[[], list[str]]
    cleanup: Callable[[], None] = lambda: None


def _file_backend(request, **stores_kwargs) -> Backend:
    datadir = request.getfixturevalue("tmp_path") / f"images-{uuid.uuid4().hex[:8]}"
    datadir.mkdir()
    list_files = request.getfixturevalue("list_files")
    driver = FilesystemDriver([(str(datadir), 0)])
    return Backend(Stores({"file": driver}, default_store="file",
                          **stores_kwargs),
                   lambda: list_files(datadir))


def _swift_backend(request, large_object_size=4 * MiB, **stores_kwargs):
    from glance_store.drivers.swift import SwiftDriver

    cluster = request.getfixturevalue("swift_cluster")
    container = f"contract-{uuid.uuid4().hex[:12]}"
    driver = SwiftDriver(
        auth_address=cluster.auth_url, user=cluster.user, key=cluster.key,
        auth_version="1", container=container, create_container=True,
        large_object_size=large_object_size, chunk_size=MiB)

    def leftovers():
        with contextlib.suppress(Exception):  # no container: nothing left
            return [o["name"] for o in
                    driver.connection().get_container(container)[1]]
        return []

    def cleanup():
        conn = driver.connection()
        for name in leftovers():
            conn.delete_object(container, name)
        with contextlib.suppress(Exception):
            conn.delete_container(container)

    return Backend(Stores({"swift": driver}, default_store="swift",
                          **stores_kwargs), leftovers, cleanup)


def _segmented_swift_backend(request, **stores_kwargs):
    return _swift_backend(request, large_object_size=MiB, **stores_kwargs)


def _s3_backend(request, **stores_kwargs):
    from glance_store.drivers.s3 import S3Driver

    cluster = request.getfixturevalue("swift_cluster")
    bucket = f"contract-{uuid.uuid4().hex[:12]}"
    driver = S3Driver(
        host=cluster.s3_endpoint, access_key=cluster.user,
        secret_key=cluster.key, bucket=bucket, create_bucket=True,
        url_format="path", large_object_size=MiB, chunk_size=MiB,
        client=request.getfixturevalue("s3_client"))
    client = driver.client

    def leftovers():
        """Objects, unfinished uploads, and their parts as Swift sees them."""
        try:
            objects = client.list_objects_v2(Bucket=bucket).get(
                "Contents", [])
            uploads = client.list_multipart_uploads(Bucket=bucket).get(
                "Uploads", [])
        except client.exceptions.NoSuchBucket:
            return []
        return ([o["Key"] for o in objects]
                + [f"upload:{u['Key']}" for u in uploads]
                + [f"part:{name}" for name in
                   cluster.list_container(f"{bucket}+segments")])

    def cleanup():
        for key in leftovers():
            if ":" not in key:
                client.delete_object(Bucket=bucket, Key=key)
        with contextlib.suppress(Exception):
            client.delete_bucket(Bucket=bucket)

    return Backend(Stores({"s3": driver}, default_store="s3",
                          **stores_kwargs), leftovers, cleanup)


BACKENDS = {
    "file": _file_backend,
    "s3": _s3_backend,
    "swift": _swift_backend,
    "swift-segmented": _segmented_swift_backend,
}

IMAGE = bytes(range(256)) * (CHUNK_SIZE // 256 * 2 + 1000)  # > 2 chunks


@pytest.fixture(params=sorted(BACKENDS))
def make_backend(request):
    made = []

    def make(**kwargs):
        made.append(BACKENDS[request.param](request, **kwargs))
        return made[-1]

    yield make
    for backend in made:
        backend.cleanup()


@pytest.fixture
def backend(make_backend):
    return make_backend()


def read_all(backend, location, **kwargs) -> bytes:
    with backend.stores.get(location, **kwargs) as data:
        body = b"".join(data)
    assert len(body) == data.size
    return body


def test_add_then_get_returns_the_same_bytes_and_true_checksums(
        backend, source):
    result = backend.stores.add("img-1", source(IMAGE), size=len(IMAGE))

    assert result.size == len(IMAGE)
    assert result.checksum == hashlib.md5(IMAGE).hexdigest()
    assert result.os_hash_algo == "sha512"
    assert result.os_hash_value == hashlib.sha512(IMAGE).hexdigest()
    assert result.store in backend.stores.store_names
    assert read_all(backend, result.location) == IMAGE
    assert backend.stores.get_size(result.location) == len(IMAGE)


def test_another_hashing_algorithm_gives_its_digest(make_backend, source):
    backend = make_backend(hashing_algorithm="sha256")
    result = backend.stores.add("img-1", source(IMAGE))

    assert result.os_hash_algo == "sha256"
    assert result.os_hash_value == hashlib.sha256(IMAGE).hexdigest()


def test_add_of_unknown_length_in_small_pieces_stores_everything(
        backend, source):
    result = backend.stores.add("img-1", source(IMAGE, piece=7919))

    assert result.size == len(IMAGE)
    assert read_all(backend, result.location) == IMAGE


def test_an_empty_image_round_trips(backend, source):
    result = backend.stores.add("img-1", source(b""), size=0)

    assert result.checksum == hashlib.md5(b"").hexdigest()
    assert read_all(backend, result.location) == b""


@pytest.mark.parametrize("offset, length", [
    (0, 10), (5, None), (CHUNK_SIZE - 3, 7), (len(IMAGE) - 4, 100),
    (len(IMAGE), None), (17, 0)])
def test_ranged_get_yields_exactly_the_range(backend, source, offset, length):
    result = backend.stores.add("img-1", source(IMAGE))
    end = None if length is None else offset + length

    assert read_all(backend, result.location, offset=offset,
                    length=length) == IMAGE[offset:end]


def test_a_get_beyond_the_end_is_an_invalid_range(backend, source):
    result = backend.stores.add("img-1", source(b"abc"))

    with pytest.raises(exceptions.InvalidRange):
        backend.stores.get(result.location, offset=4)


def test_delete_removes_the_data_and_a_second_delete_is_not_found(
        backend, source):
    result = backend.stores.add("img-1", source(IMAGE))
    backend.stores.delete(result.location)

    assert backend.leftovers() == []
    with pytest.raises(exceptions.NotFound):
        backend.stores.delete(result.location)
    with pytest.raises(exceptions.NotFound):
        backend.stores.get(result.location)
    with pytest.raises(exceptions.NotFound):
        backend.stores.get_size(result.location)


@pytest.mark.parametrize("declared", [len(IMAGE) - 1, len(IMAGE) + 1])
def test_a_size_mismatch_fails_and_leaves_nothing(backend, source, declared):
    with pytest.raises(exceptions.SizeMismatch):
        backend.stores.add("img-1", source(IMAGE), size=declared)

    assert backend.leftovers() == []


@pytest.mark.parametrize("size", [None, len(IMAGE)])
def test_a_stream_over_the_cap_fails_and_leaves_nothing(backend, source, size):
    with pytest.raises(exceptions.SizeLimitExceeded):
        backend.stores.add("img-1", source(IMAGE), size=size,
                           cap=len(IMAGE) - 1)

    assert backend.leftovers() == []


def test_a_stream_exactly_at_the_cap_is_accepted(backend, source):
    result = backend.stores.add("img-1", source(IMAGE), cap=len(IMAGE))

    assert result.size == len(IMAGE)


def test_a_checksum_mismatch_fails_and_leaves_nothing(backend, source):
    with pytest.raises(exceptions.ChecksumMismatch):
        backend.stores.add("img-1", source(IMAGE),
                           checksum=hashlib.md5(b"other").hexdigest())

    assert backend.leftovers() == []


def test_a_matching_checksum_is_accepted_in_any_case(backend, source):
    checksum = hashlib.md5(IMAGE).hexdigest().upper()

    result = backend.stores.add("img-1", source(IMAGE), checksum=checksum)

    assert result.checksum == checksum.lower()


@pytest.mark.parametrize("error", [
    ConnectionResetError("client went away"), ValueError("odd"),
    KeyboardInterrupt()])
def test_a_failing_input_stream_propagates_unchanged_and_leaves_nothing(
        backend, source, error):
    stream = source(IMAGE, piece=CHUNK_SIZE // 2, fail_on_read=4, error=error)

    with pytest.raises(type(error)) as raised:
        backend.stores.add("img-1", stream, size=len(IMAGE))

    assert raised.value is error
    assert stream.bytes_read == 3 * (CHUNK_SIZE // 2)
    assert backend.leftovers() == []


def test_after_a_failed_add_the_same_image_id_can_be_stored(backend, source):
    with pytest.raises(exceptions.SizeMismatch):
        backend.stores.add("img-1", source(IMAGE), size=1)

    result = backend.stores.add("img-1", source(IMAGE))

    assert read_all(backend, result.location) == IMAGE


def test_a_driver_owns_what_it_stored_and_not_a_sibling_stores_data(
        make_backend, source):
    """Two stores of one type (another directory, container or bucket)
    share a scheme; each must recognise only its own locations."""
    mine, sibling = make_backend(), make_backend()
    result = mine.stores.add("img-1", source(b"owned"))

    assert mine.stores.driver(result.store).owns(result.location)
    assert not sibling.stores.driver(sibling.stores.default_store).owns(
        result.location)
