"""Location rules without HTTP: masking credentials, which URLs a store
serves, validation_data, and the background hash against a small store."""

from __future__ import annotations

import hashlib
import json

import pytest

import glance_store
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import TooLarge
from glance_api.locations import rules
from glance_api.locations.hashing import HashJob
from glance_api.locations.hashing import LocationHasher
from glance_api.locations.redaction import safe_url
from glance_api.locations.redaction import scrub
from glance_common.context import RequestContext
from glance_store.drivers.http import HttpDriver
from tests.unit.glance_api.api_support import FakeRegistry
from tests.unit.glance_api.locations_support import MemoryDriver
from tests.unit.glance_api.locations_support import memory_stores

DATA = bytes(range(256)) * 100  # several chunks
SHA512 = hashlib.sha512(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()
SERVICE = RequestContext.build("nova", "tenant-a", ["service"])


@pytest.mark.parametrize("url, secret", [
    ("swift+https://acct:user:k3y@swift.example/v1/c/o", "k3y"),
    ("s3://AKIA:se/cr3t@s3.example/bucket/obj", "se/cr3t"),
    ("http://alice:pw0rd@img.example/disk", "pw0rd"),
    ("https://swift.example/v1/c/o?temp_url_sig=abc123&temp_url_expires=9", "abc123"),
    ("https://s3.example/b/o?X-Amz-Signature=feed42&X-Amz-Credential=AKIA7", "feed42"),
])
def test_credentials_in_a_location_url_are_masked(url, secret):
    shown = safe_url(url)
    assert secret not in shown and "***" in shown
    assert scrub("failed to read %s: 403" % url, url) == "failed to read %s: 403" % shown


def test_a_url_without_credentials_is_shown_as_it_is():
    url = "https://img.example:8443/images/disk.qcow2?name=x"
    assert safe_url(url) == url


@pytest.mark.parametrize("value", [None, {}])
def test_no_validation_data_means_none(value):
    assert rules.parse_validation_data(value) is None


def test_validation_data_is_an_algorithm_and_a_digest_of_its_size():
    got = rules.parse_validation_data({"os_hash_algo": "sha256",
                                       "os_hash_value": "AB" * 32})
    assert got == rules.ValidationData("sha256", "ab" * 32)


@pytest.mark.parametrize("value", [
    {"os_hash_value": SHA512},                                 # no algorithm
    {"os_hash_algo": "sha512"},                                # no digest
    {"os_hash_algo": "sha123", "os_hash_value": SHA512},       # no such algorithm
    {"os_hash_algo": "sha512", "os_hash_value": SHA512[:30]},  # wrong length
    {"os_hash_algo": "sha256", "os_hash_value": SHA512},       # another algorithm's
    {"os_hash_algo": "sha512", "os_hash_value": "z" * 128},    # not hexadecimal
    {"os_hash_algo": "sha512", "os_hash_value": SHA512, "checksum": MD5},
    "sha512", ["sha512"]])
def test_malformed_validation_data_is_400(value):
    with pytest.raises(BadRequest):
        rules.parse_validation_data(value)


def test_vouched_hashes_may_not_contradict_the_images():
    vouched = rules.ValidationData("sha512", SHA512)
    rules.check_vouched_hashes({"os_hash_algo": "sha512", "os_hash_value": SHA512},
                               vouched)
    with pytest.raises(Conflict):
        rules.check_vouched_hashes({"os_hash_value": "0" * 128}, vouched)


@pytest.fixture
def memory():
    return MemoryDriver()


@pytest.fixture
def stores(tmp_path, memory):
    return memory_stores(tmp_path, memory)


def test_a_location_a_store_serves_is_checked_and_sized(stores, memory):
    url = memory.put("mem://vol/1", DATA)
    checked = rules.check_location(stores, url, any_scheme=True, size_cap=10 ** 9)
    assert (checked.store, checked.size) == ("mem", len(DATA))
    assert checked.record({"store": "elsewhere", "k": "v"}) == {
        "url": url, "metadata": {"store": "mem", "k": "v"}}


@pytest.mark.parametrize("url", ["cinder://vol/1", "rbd://pool/img", "nonsense",
                                 "", "mem://vol/\n1", 42])
def test_a_url_no_store_serves_is_refused(stores, url):
    with pytest.raises(BadRequest):
        rules.check_location(stores, url, any_scheme=True, size_cap=10 ** 9)


def test_missing_data_is_refused_without_its_credentials(stores):
    with pytest.raises(BadRequest) as refused:
        rules.check_location(stores, "mem://user:hunter2@vol/none", any_scheme=True,
                             size_cap=10 ** 9)
    assert "hunter2" not in refused.value.message


def test_only_services_may_name_data_in_the_services_own_stores(stores, memory, tmp_path):
    url = memory.put("mem://vol/1", DATA)
    for location in (url, "file://%s/some-image" % tmp_path, "cinder://vol/2"):
        with pytest.raises(Forbidden):
            rules.check_location(stores, location, any_scheme=False, size_cap=10 ** 9)


@pytest.mark.parametrize("url", ["http://10.1.2.3/disk", "http://127.0.0.1/disk",
                                 "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]/disk", "ftp://1.2.3.4/disk"])
def test_http_locations_on_internal_addresses_are_refused_before_any_connection(
        tmp_path, memory, url):
    # Literal addresses: resolving them sends nothing on the network.
    stores = glance_store.Stores({"mem": memory, "http": HttpDriver(
        glance_store.URLFilter()), "file": memory_stores(tmp_path, memory).driver("file")},
        default_store="file")
    with pytest.raises((BadRequest, Forbidden)):
        rules.check_location(stores, url, any_scheme=False, size_cap=10 ** 9)


def test_a_location_larger_than_the_size_cap_is_413(stores, memory):
    url = memory.put("mem://vol/big", DATA)
    with pytest.raises(TooLarge):
        rules.check_location(stores, url, any_scheme=True, size_cap=len(DATA) - 1)


# The background hash

def _hasher(registry, stores, **kw):
    kw.setdefault("retries", 3)
    kw.setdefault("size_cap", 10 ** 9)
    return LocationHasher(registry, stores, retry_delay=0.01, **kw)


def _active_waiting(registry, url):
    return registry.add(owner="tenant-a", status="active", size=len(DATA),
                        os_hash_algo="sha512",
                        locations=[{"url": url, "metadata": {"store": "mem"}}])


def test_the_hash_of_an_added_location_is_recorded(stores, memory):
    registry = FakeRegistry()
    url = memory.put("mem://vol/1", DATA)
    image = _active_waiting(registry, url)
    job = HashJob(SERVICE, image["id"], {"url": url, "metadata": {"store": "mem"}},
                  "sha512")
    assert _hasher(registry, stores).run(job) == "recorded"
    got = registry.images[image["id"]]
    assert (got["checksum"], got["os_hash_value"], got["status"]) == (
        MD5, SHA512, "active")
    assert memory.largest_chunk <= 4096


def test_a_flaky_store_is_retried_and_an_unreadable_one_given_up(stores, memory):
    registry = FakeRegistry()
    url = memory.put("mem://vol/1", DATA)
    image = _active_waiting(registry, url)
    job = HashJob(SERVICE, image["id"], {"url": url, "metadata": {}}, "sha512")
    memory.failures = 2
    assert _hasher(registry, stores).run(job) == "recorded"
    assert memory.reads == 3
    other = _active_waiting(registry, memory.put("mem://vol/2", DATA))
    memory.failures, memory.reads = 10, 0
    job = HashJob(SERVICE, other["id"], {"url": "mem://vol/2", "metadata": {}}, "sha512")
    assert _hasher(registry, stores).run(job) == "gave up"
    assert memory.reads == 3
    got = registry.images[other["id"]]
    assert (got["os_hash_algo"], got["os_hash_value"], got["status"]) == (
        None, None, "active")


def test_an_image_that_moved_on_is_left_alone(stores, memory):
    registry = FakeRegistry()
    url = memory.put("mem://vol/1", DATA)
    image = _active_waiting(registry, url)
    registry.images[image["id"]]["locations"] = [{"url": "mem://other", "metadata": {}}]
    job = HashJob(SERVICE, image["id"], {"url": url, "metadata": {}}, "sha512")
    assert _hasher(registry, stores).run(job) == "stale"
    assert registry.images[image["id"]]["os_hash_value"] is None


def test_vouched_data_activates_the_queued_image_only_when_it_matches(stores, memory):
    registry = FakeRegistry()
    url = memory.put("mem://vol/1", DATA)
    location = {"url": url, "metadata": {"store": "mem"}}
    good = registry.add(owner="tenant-a")
    bad = registry.add(owner="tenant-a")
    hasher = _hasher(registry, stores)
    sha256 = hashlib.sha256(DATA).hexdigest()
    assert hasher.run(HashJob(SERVICE, good["id"], location, "sha256",
                              expected=rules.ValidationData("sha256", sha256))
                      ) == "activated"
    got = registry.images[good["id"]]
    assert (got["status"], got["size"], got["os_hash_algo"], got["os_hash_value"],
            got["checksum"], got["locations"]) == (
        "active", len(DATA), "sha256", sha256, MD5, [location])
    assert hasher.run(HashJob(SERVICE, bad["id"], location, "sha512",
                              expected=rules.ValidationData("sha512", "0" * 128))
                      ) == "mismatch"
    got = registry.images[bad["id"]]
    assert (got["status"], got["locations"], got["os_hash_value"]) == ("queued", [], None)


def test_data_beyond_the_size_cap_is_never_hashed_to_the_end(stores, memory):
    registry = FakeRegistry()
    url = memory.put("mem://vol/1", DATA)
    image = _active_waiting(registry, url)
    job = HashJob(SERVICE, image["id"], {"url": url, "metadata": {}}, "sha512")
    assert _hasher(registry, stores, size_cap=4096).run(job) == "gave up"
    assert memory.reads == 1  # too large is final: not retried


# The JSON-Patch of /locations (glance_api.v2.patch), on documents

def _doc(status="active", urls=("mem://a",)):
    return {"id": "i", "status": status, "name": None, "tags": [],
            "locations": [{"url": u, "metadata": {}} for u in urls]}


def _apply(document, *ops):
    from glance_api.v2 import patch

    operations = patch.parse(json.dumps(list(ops)).encode(), "v2.1")
    return patch.apply(document, operations, property_quota=128, tag_quota=128)


def test_patch_inserts_replaces_and_removes_locations_by_position():
    new = {"url": "mem://b", "metadata": {"k": "v"}}
    changes = _apply(_doc(), {"op": "add", "path": "/locations/0", "value": new})
    assert [loc["url"] for loc in changes["locations"]] == ["mem://b", "mem://a"]
    changes = _apply(_doc(urls=("mem://a", "mem://b")),
                     {"op": "remove", "path": "/locations/-"})
    assert changes["locations"] == [{"url": "mem://a", "metadata": {}}]
    changes = _apply(_doc(status="queued", urls=()),
                     {"op": "replace", "path": "/locations", "value": [new]})
    assert changes["locations"] == [new]


@pytest.mark.parametrize("document, op, error", [
    (_doc(status="saving"), {"op": "add", "path": "/locations/-",
                             "value": {"url": "mem://b", "metadata": {}}}, Conflict),
    (_doc(status="queued", urls=()), {"op": "remove", "path": "/locations/0"}, Conflict),
    (_doc(), {"op": "remove", "path": "/locations/0"}, Forbidden),
    (_doc(urls=("mem://a", "mem://b")), {"op": "remove", "path": "/locations/2"},
     BadRequest),
    (_doc(), {"op": "replace", "path": "/locations/0",
              "value": {"url": "mem://b", "metadata": {}}}, BadRequest),
    (_doc(), {"op": "replace", "path": "/locations", "value": []}, Forbidden),
    (_doc(), {"op": "add", "path": "/locations/-", "value": {"url": "mem://b"}},
     BadRequest),
    ({"id": "i", "status": "active"}, {"op": "add", "path": "/locations/-",
                                       "value": {"url": "mem://b", "metadata": {}}},
     Forbidden),
])
def test_patch_refuses_location_changes_as_glance_does(document, op, error):
    with pytest.raises(error):
        _apply(document, op)
