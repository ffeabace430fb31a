"""Image data from elsewhere: x-image-meta-location, x-glance-api-copy-from and
x-image-meta-store, against a real HTTP server on loopback that the api is
explicitly allowed to reach (and addresses it is not)."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
import requests

from tests.image_server import serving
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until

DATA = os.urandom(2 * 1024 * 1024 + 5)


@pytest.fixture(scope="module")
def source():
    with serving() as server:
        server.images["disk"] = DATA
        yield server


@pytest.fixture(scope="module")
def g(request, tmp_path_factory, source):
    url = database(request, tmp_path_factory, "sqlite")
    pair = Glance(tmp_path_factory.mktemp("sources"), url, sections={
        "import_filtering_opts": {"allowed_hosts": "127.0.0.1",
                                  "allowed_ports": "80,443,%d" % source.port}})
    yield pair
    pair.stop()


def _post(g, **headers):
    headers.setdefault("x-image-meta-disk_format", "raw")
    headers.setdefault("x-image-meta-container_format", "bare")
    return requests.post(g.url + "/v1/images", headers=headers)


def _status(g, image_id):
    return requests.head(g.url + "/v1/images/" + image_id).headers.get("x-image-meta-status")


def _stored_for(g, image_id):
    return [f for f in os.listdir(g.images_dir) if image_id in f]


def test_location_image_is_active_with_the_remote_size_and_streams_from_there(g, source):
    resp = _post(g, **{"x-image-meta-location": source.url("/images/disk")})
    assert resp.status_code == 201, resp.text
    image = resp.json()["image"]
    assert image["status"] == "active" and image["size"] == len(DATA)
    head = requests.head(g.url + "/v1/images/" + image["id"])
    assert not any("location" in h.lower() for h in head.headers)
    assert requests.get(g.url + "/v1/images/" + image["id"]).content == DATA
    assert _stored_for(g, image["id"]) == []
    assert requests.delete(g.url + "/v1/images/" + image["id"]).status_code == 200
    assert source.images["disk"] == DATA


def test_location_with_a_different_size_is_409_and_records_nothing(g, source):
    name = "size-mismatch-%s" % uuid.uuid4().hex
    resp = _post(g, **{"x-image-meta-location": source.url("/images/disk"),
                       "x-image-meta-size": "5", "x-image-meta-name": name})
    assert resp.status_code == 409
    listed = requests.get(g.url + "/v1/images/detail", params={"name": name, "status": "queued"})
    assert listed.status_code == 200 and listed.json()["images"] == []


def test_location_credentials_never_show_in_responses_or_logs(g, source):
    url = source.url("/images/disk").replace("http://", "http://alice:s3cr3t@")
    resp = _post(g, **{"x-image-meta-location": url})
    assert "s3cr3t" not in resp.text
    bad = _post(g, **{"x-image-meta-location": url.replace("/images/disk", "/images/nope")})
    assert bad.status_code >= 400 and "s3cr3t" not in bad.text
    assert "s3cr3t" not in g.api.log_text()


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "swift+config://ref1/glance/x", "filesystem:///tmp/x"])
def test_non_http_locations_are_refused_for_everyone(g, url):
    resp = _post(g, **{"x-image-meta-location": url})
    assert resp.status_code == 400
    assert "External sources are not supported" in resp.text


def test_locations_on_addresses_not_allowed_are_refused(g, source):
    # 127.0.0.2 is loopback too, but only 127.0.0.1 is allowed.
    resp = _post(g, **{"x-image-meta-location": "http://127.0.0.2:%d/images/disk"
                       % source.port})
    assert resp.status_code == 400
    assert "allowed_hosts" in resp.text
    # Private and other internal ranges are refused with the resolver stubbed
    # (tests/unit/glance_store/test_http.py): a real api here would send a
    # packet beyond loopback if the filter were wrong.


def test_copy_from_fetches_in_the_background_and_activates(g, source):
    resp = _post(g, **{"x-glance-api-copy-from": source.url("/images/disk")})
    assert resp.status_code == 201, resp.text
    image = resp.json()["image"]
    assert image["status"] in ("queued", "saving", "active")
    assert poll_until(lambda: _status(g, image["id"]) == "active")
    got = requests.get(g.url + "/v1/images/" + image["id"])
    assert got.content == DATA
    assert got.headers["x-image-meta-checksum"] == hashlib.md5(DATA).hexdigest()


def test_copy_from_redirected_to_a_forbidden_address_ends_killed(g, source):
    target = "http://127.0.0.2:%d/images/disk" % source.port
    resp = _post(g, **{"x-glance-api-copy-from": source.url("/to?url=" + target)})
    assert resp.status_code == 201
    image_id = resp.json()["image"]["id"]
    assert poll_until(lambda: _status(g, image_id) == "killed")
    assert _stored_for(g, image_id) == []


def test_copy_from_that_breaks_midway_ends_killed_with_nothing_stored(g, source):
    resp = _post(g, **{"x-glance-api-copy-from": source.url("/truncated/disk")})
    image_id = resp.json()["image"]["id"]
    assert poll_until(lambda: _status(g, image_id) == "killed")
    assert _stored_for(g, image_id) == []


def test_copy_from_respects_the_size_cap(g, source):
    source.images["huge"] = b"h" * (g.size_cap + 1)
    resp = _post(g, **{"x-glance-api-copy-from": source.url("/images/huge")})
    image_id = resp.json()["image"]["id"]
    assert poll_until(lambda: _status(g, image_id) == "killed")
    assert _stored_for(g, image_id) == []


def test_more_than_one_source_is_400_and_records_nothing(g, source):
    image_id = str(uuid.uuid4())
    resp = _post(g, **{"x-image-meta-id": image_id,
                       "x-glance-api-copy-from": source.url("/images/disk"),
                       "x-image-meta-location": source.url("/images/disk")})
    assert resp.status_code == 400
    assert requests.head(g.url + "/v1/images/" + image_id).status_code == 404


@pytest.mark.parametrize("store, code", [("file", 201), ("nonesuch", 400), ("http", 400)])
def test_store_header_picks_a_configured_writable_store(g, store, code):
    resp = requests.post(g.url + "/v1/images", data=b"abc", headers={
        "x-image-meta-store": store, "x-image-meta-disk_format": "raw",
        "x-image-meta-container_format": "bare",
        "Content-Type": "application/octet-stream"})
    assert resp.status_code == code, resp.text
