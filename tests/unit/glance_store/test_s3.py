"""The s3 driver: part sizing, and multipart uploads against Swift's s3api."""

from __future__ import annotations

import hashlib
import uuid

import botocore.exceptions
import pytest
from oslo_config import cfg

import glance_store
from glance_store import Stores
from glance_store import exceptions
from glance_store.drivers import s3
from glance_store.drivers.s3 import S3Driver
from glance_store.drivers.s3 import capacity
from glance_store.drivers.s3 import part_size

MiB = 1024 * 1024
TiB = 1024 * 1024 * MiB


# --- Part sizes: pure arithmetic ------------------------------------------

@pytest.mark.parametrize("first", [5 * MiB, 10 * MiB])
def test_a_1_tib_image_of_unknown_length_fits_in_10000_parts(first):
    assert capacity(first) >= TiB
    assert capacity(first, parts=s3.MAX_PARTS - 1) < capacity(first)


def test_from_the_default_first_part_s3s_5_tib_object_limit_fits():
    assert capacity(10 * MiB) >= 5 * TiB
    assert capacity(5 * MiB) >= 4.8 * TiB


def test_parts_of_unknown_length_grow_but_never_beyond_5_gib():
    sizes = [part_size(n, 10 * MiB) for n in range(1, s3.MAX_PARTS + 1)]

    assert sizes[0] == 10 * MiB
    assert sizes == sorted(sizes)
    assert sizes[999] == 10 * MiB and sizes[1000] == 20 * MiB
    assert max(sizes) <= s3.MAX_PART
    assert part_size(10**9, 10 * MiB) == s3.MAX_PART


def test_the_first_parts_are_as_configured_so_small_images_stay_cheap():
    assert [part_size(n, 5 * MiB) for n in (1, 2, 1000)] == [5 * MiB] * 3


@pytest.mark.parametrize("size", [1, 99 * MiB, 100 * 1024 * MiB, TiB,
                                  5 * TiB])
def test_a_known_size_uses_one_part_size_within_10000_parts(size):
    chosen = part_size(1, 10 * MiB, size)

    assert chosen >= 10 * MiB and chosen % MiB == 0
    assert -(-size // chosen) <= s3.MAX_PARTS
    assert all(part_size(n, 10 * MiB, size) == chosen for n in (2, 9999))


# --- Error translation: S3's status and code -----------------------------

@pytest.mark.parametrize("status, code, writing, expected", [
    (404, "NoSuchKey", False, exceptions.NotFound),
    (400, "NoSuchUpload", True, exceptions.NotFound),
    (400, "EntityTooLarge", True, exceptions.StorageFull),
    (403, "QuotaExceeded", True, exceptions.StorageFull),
    (507, "", True, exceptions.StorageFull),
    (416, "InvalidRange", False, exceptions.InvalidRange),
    (403, "AccessDenied", True, exceptions.StorageWriteDenied),
    (403, "AccessDenied", False, exceptions.RemoteServiceUnavailable),
    (500, "InternalError", True, exceptions.RemoteServiceUnavailable),
])
def test_s3_answers_are_translated_by_status_or_code(status, code, writing,
                                                     expected):
    answer = {"Error": {"Code": code},
              "ResponseMetadata": {"HTTPStatusCode": status}}

    reason = f"{status} {code}".strip()
    with pytest.raises(expected, match=f"^reading b/k.* {reason}"):
        with s3._s3_errors("reading b/k", writing=writing):
            raise botocore.exceptions.ClientError(answer, "HeadObject")


# --- Against the s3api of the test cluster --------------------------------

def pattern(size: int) -> bytes:
    return (hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
            )[:size]


@pytest.fixture
def bucket():
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_driver(swift_cluster, s3_client, bucket):
    made = []

    def make(**kwargs):
        options = dict(host=swift_cluster.s3_endpoint,
                       access_key=swift_cluster.user,
                       secret_key=swift_cluster.key, bucket=bucket,
                       create_bucket=True, url_format="path",
                       large_object_size=MiB, chunk_size=MiB)
        if "secret_key" not in kwargs:
            options["client"] = s3_client
        options.update(kwargs)
        made.append(S3Driver(**options))
        return made[-1]

    yield make
    client = made[0].client if made else None
    if client is not None:
        for upload in client.list_multipart_uploads(Bucket=bucket).get(
                "Uploads", []) if _exists(client, bucket) else []:
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"],
                                          UploadId=upload["UploadId"])
        if _exists(client, bucket):
            for obj in client.list_objects_v2(Bucket=bucket).get(
                    "Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
            client.delete_bucket(Bucket=bucket)


def _exists(client, bucket) -> bool:
    try:
        client.head_bucket(Bucket=bucket)
    except client.exceptions.ClientError:
        return False
    return True


@pytest.fixture
def driver(make_driver):
    return make_driver()


@pytest.fixture
def stores(driver):
    return Stores({"s3": driver}, default_store="s3")


def read_all(stores, location, **kwargs) -> bytes:
    with stores.get(location, **kwargs) as data:
        return b"".join(data)


@pytest.mark.parametrize("declared", [True, False])
def test_a_large_image_goes_up_in_parts_and_reads_back_intact(
        stores, driver, source, bucket, swift_cluster, declared):
    image = pattern(5 * MiB + 333)

    result = stores.add("img", source(image, piece=200_000),
                        size=len(image) if declared else None)

    assert result.location == (f"s3://127.0.0.1:"
                               f"{swift_cluster.ports['proxy']}/{bucket}/img")
    head = driver.client.head_object(Bucket=bucket, Key="img")
    assert head["ETag"].strip('"').endswith("-6")   # six 1 MiB parts
    assert len(swift_cluster.list_container(f"{bucket}+segments")) == 6
    assert read_all(stores, result.location) == image
    assert read_all(stores, result.location, offset=MiB - 5,
                    length=2 * MiB) == image[MiB - 5:3 * MiB - 5]


def test_a_small_image_of_unknown_size_is_one_put(stores, driver, source,
                                                  bucket, swift_cluster):
    image = pattern(MiB - 1)

    result = stores.add("img", source(image))

    assert "-" not in driver.client.head_object(
        Bucket=bucket, Key="img")["ETag"]
    assert swift_cluster.list_container(f"{bucket}+segments") == []
    assert read_all(stores, result.location) == image


class InspectingSource:
    """An upload stream that fails on its Nth read, after noting the parts
    S3 held for the upload in progress at that moment."""

    def __init__(self, data, client, bucket, fail_on_read, piece):
        self._data = memoryview(data)
        self._client = client
        self._bucket = bucket
        self._fail_on_read = fail_on_read
        self._piece = piece
        self.reads = 0
        self.parts_at_failure = None

    def read(self, size=-1):
        self.reads += 1
        if self.reads == self._fail_on_read:
            upload, = self._client.list_multipart_uploads(
                Bucket=self._bucket)["Uploads"]
            self.parts_at_failure = [
                p["PartNumber"] for p in self._client.list_parts(
                    Bucket=self._bucket, Key=upload["Key"],
                    UploadId=upload["UploadId"]).get("Parts", [])]
            raise ConnectionResetError("client went away")
        size = min(size if size >= 0 else len(self._data), self._piece)
        chunk, self._data = self._data[:size], self._data[size:]
        return bytes(chunk)


@pytest.mark.parametrize("declared", [True, False])
def test_a_failed_multipart_upload_is_aborted_and_leaves_nothing(
        stores, driver, bucket, swift_cluster, declared):
    image = pattern(6 * MiB)
    stream = InspectingSource(image, driver.client, bucket, fail_on_read=14,
                              piece=MiB // 4)

    with pytest.raises(ConnectionResetError):
        stores.add("img", stream, size=len(image) if declared else None)

    assert stream.parts_at_failure == [1, 2, 3]
    client = driver.client
    assert client.list_multipart_uploads(Bucket=bucket).get(
        "Uploads", []) == []
    assert client.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert swift_cluster.list_container(f"{bucket}+segments") == []


def test_a_checksum_mismatch_aborts_the_upload(stores, driver, source,
                                               bucket):
    with pytest.raises(exceptions.ChecksumMismatch):
        stores.add("img", source(pattern(3 * MiB)), checksum="0" * 32)

    assert driver.client.list_multipart_uploads(Bucket=bucket).get(
        "Uploads", []) == []


def test_discard_partial_aborts_uploads_a_dead_process_left(
        stores, driver, bucket, source):
    stores.add("other", source(b"kept"))
    client = driver.client
    upload = client.create_multipart_upload(Bucket=bucket, Key="dead")
    client.upload_part(Bucket=bucket, Key="dead", PartNumber=1,
                       UploadId=upload["UploadId"], Body=b"x" * 10)

    assert stores.discard_partial("dead") == 1
    assert client.list_multipart_uploads(Bucket=bucket).get(
        "Uploads", []) == []
    assert stores.discard_partial("other") == 0


def test_a_missing_bucket_is_created_only_when_configured(make_driver,
                                                          source):
    stores = Stores({"s3": make_driver(create_bucket=False)},
                    default_store="s3")

    with pytest.raises(exceptions.StorageWriteDenied,
                       match="create_bucket_on_put"):
        stores.add("img", source(b"data"))


def test_a_second_upload_of_the_same_id_is_a_duplicate(stores, source):
    stores.add("img", source(b"first"))

    with pytest.raises(exceptions.Duplicate):
        stores.add("img", source(b"second"))


def test_a_wrong_secret_is_denied_for_writes_and_unavailable_for_reads(
        make_driver, stores, source):
    location = stores.add("img", source(b"data")).location
    wrong = Stores({"s3": make_driver(secret_key="wrong")},
                   default_store="s3")

    with pytest.raises(exceptions.StorageWriteDenied, match="403"):
        wrong.add("img2", source(b"data"))
    with pytest.raises(exceptions.RemoteServiceUnavailable, match="403"):
        wrong.get_size(location)


def test_an_unreachable_endpoint_is_unavailable(source):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stores = Stores({"s3": S3Driver(host=f"127.0.0.1:{port}", access_key="a",
                                    secret_key="b", bucket="glance")},
                    default_store="s3")

    with pytest.raises(exceptions.RemoteServiceUnavailable):
        stores.get_size(f"s3://127.0.0.1:{port}/glance/img")


@pytest.mark.parametrize("location", [
    "s3://other.example.com/glance/img",
    "s3://s3.example.com/glance",
    "s3://s3.example.com/glance/img#x",
    "swift://s3.example.com/glance/img",
])
def test_locations_of_other_hosts_or_malformed_are_refused(location):
    driver = S3Driver(host="s3.example.com", access_key="a", secret_key="b",
                      bucket="glance")

    with pytest.raises(exceptions.BadStoreURI):
        driver._parse(location)


def test_locations_carry_no_credentials_and_glance_forms_parse():
    driver = S3Driver(host="https://s3.example.com", access_key="AKIA",
                      secret_key="secret", bucket="glance")

    assert driver._location("img") == "s3+https://s3.example.com/glance/img"
    assert driver._parse("s3+https://AKIA:secret@s3.example.com/glance/img"
                         ) == ("glance", "img")
    assert driver._parse("s3://s3.example.com/glance/img") == (
        "glance", "img")


def test_the_configured_s3_store_round_trips(tmp_path, swift_cluster,
                                             source, bucket, make_driver):
    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    conf([])
    for name, value in {
            "stores": ["file", "http", "swift", "s3"],
            "default_store": "s3",
            "filesystem_store_datadir": str(tmp_path),
            "swift_store_auth_address": swift_cluster.auth_url,
            "swift_store_user": swift_cluster.user,
            "swift_store_key": swift_cluster.key,
            "s3_store_host": swift_cluster.s3_endpoint,
            "s3_store_access_key": swift_cluster.user,
            "s3_store_secret_key": swift_cluster.key,
            "s3_store_bucket": bucket,
            "s3_store_create_bucket_on_put": True,
            "s3_store_bucket_url_format": "path"}.items():
        conf.set_override(name, value, "glance_store")
    stores = Stores.from_conf(conf)
    make_driver()   # so the fixture empties the bucket afterwards

    result = stores.add("img", source(b"configured"))

    assert result.store == "s3"
    assert stores.store_names == ("file", "http", "swift", "s3")
    assert read_all(stores, result.location) == b"configured"
