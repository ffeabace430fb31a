"""A round trip of a few hundred MiB: streamed both ways, hashes intact."""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests.pairs import Glance
from tests.pairs import database

SIZE = 300 * 1024 * 1024
BLOCK = 1024 * 1024


@pytest.fixture(scope="module")
def big_glance(request, tmp_path_factory):
    url = database(request, tmp_path_factory, "sqlite")
    pair = Glance(tmp_path_factory.mktemp("big"), url, image_size_cap=1 << 40)
    yield pair
    pair.stop()


def _blocks(md5, sha512):
    seed = hashlib.sha512(b"glance").digest()
    for i in range(SIZE // BLOCK):
        block = (seed + i.to_bytes(8, "big")) * (BLOCK // 72) + b"\0" * (BLOCK % 72)
        md5.update(block)
        sha512.update(block)
        yield block


def test_a_300_mib_image_round_trips_with_matching_md5_and_sha512(big_glance):
    sent_md5, sent_sha = hashlib.md5(), hashlib.sha512()
    resp = requests.post(big_glance.url + "/v1/images", data=_blocks(sent_md5, sent_sha),
                         headers={"x-image-meta-name": "big", "x-image-meta-size": str(SIZE),
                                  "x-image-meta-disk_format": "raw",
                                  "x-image-meta-container_format": "bare",
                                  "Content-Type": "application/octet-stream"})
    assert resp.status_code == 201, resp.text
    image = resp.json()["image"]
    assert image["size"] == SIZE
    assert image["checksum"] == sent_md5.hexdigest()
    record = big_glance.registry_get(image["id"])
    assert record["os_hash_value"] == sent_sha.hexdigest()

    got_md5, got_sha, total = hashlib.md5(), hashlib.sha512(), 0
    with requests.get(big_glance.url + "/v1/images/" + image["id"], stream=True) as down:
        assert down.status_code == 200
        for chunk in down.iter_content(BLOCK):
            got_md5.update(chunk)
            got_sha.update(chunk)
            total += len(chunk)
    assert total == SIZE
    assert got_md5.hexdigest() == sent_md5.hexdigest()
    assert got_sha.hexdigest() == sent_sha.hexdigest()
