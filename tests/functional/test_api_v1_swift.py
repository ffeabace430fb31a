"""The api with Swift as its store: images larger than the cluster's object
limit are written as Glance-style segments and read back intact."""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from tests.pairs import Glance
from tests.pairs import database

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def g(request, tmp_path_factory, swift_cluster):
    url = database(request, tmp_path_factory, "sqlite")
    pair = Glance(tmp_path_factory.mktemp("swift"), url, image_size_cap=64 * MIB, sections={
        "glance_store": {
            "stores": "file,http,swift", "default_store": "swift",
            "filesystem_store_datadir": str(tmp_path_factory.mktemp("unused")),
            "swift_store_auth_address": swift_cluster.auth_url,
            "swift_store_auth_version": "1",
            "swift_store_user": swift_cluster.user, "swift_store_key": swift_cluster.key,
            "swift_store_container": "glance-api-test",
            "swift_store_create_container_on_put": "true",
            "swift_store_large_object_size": "1", "swift_store_large_object_chunk_size": "1"}})
    yield pair
    pair.stop()


def test_an_image_three_times_the_object_limit_round_trips_through_segments(g, swift_cluster):
    data = os.urandom(3 * swift_cluster.max_file_size + 123)
    resp = requests.post(g.url + "/v1/images", data=iter([data[i:i + MIB] for i in
                                                          range(0, len(data), MIB)]),
                         headers={"x-image-meta-disk_format": "raw",
                                  "x-image-meta-container_format": "bare",
                                  "Content-Type": "application/octet-stream"})
    assert resp.status_code == 201, resp.text
    image = resp.json()["image"]
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    objects = swift_cluster.list_container("glance-api-test")
    segments = [o for o in objects if o.startswith(image["id"] + "-")]
    assert image["id"] in objects and len(segments) >= 3
    assert g.registry_get(image["id"])["locations"][0]["url"].startswith("swift+http://")

    got = requests.get(g.url + "/v1/images/" + image["id"])
    assert got.status_code == 200 and got.content == data

    assert requests.delete(g.url + "/v1/images/" + image["id"]).status_code == 200
    left = [o for o in swift_cluster.list_container("glance-api-test")
            if o.startswith(image["id"])]
    assert left == []
