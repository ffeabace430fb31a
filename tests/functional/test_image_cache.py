"""The image cache of a real glance-api: filled by the first download, served
from local disk after, one store read for many first readers, managed through
/v2/cache and by the console scripts operators run from cron."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading

import pytest
import requests

from tests import daemons
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until

MIB = 1024 * 1024
SAME = ("Content-Type", "Content-Length", "Content-MD5", "Content-Range", "ETag")
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def g(request, tmp_path_factory):
    url = database(request, tmp_path_factory, request.param)
    base = tmp_path_factory.mktemp("cache-" + request.param)
    # Two worker processes: concurrent first downloads meet across processes.
    pair = Glance(base, url, workers=2, threads=8, image_cache_dir=str(base / "image-cache"),
                  image_cache_max_size=16 * MIB, cache_prefetcher_interval=0,
                  image_size_cap=64 * MIB)
    pair.cache_dir = base / "image-cache"
    yield pair
    pair.stop()


def _image(g, size=MIB + 11) -> tuple[str, bytes]:
    data = os.urandom(size)
    resp = requests.post(g.url + "/v1/images", data=data, headers={
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
        "Content-Type": "application/octet-stream"})
    assert resp.status_code == 201, resp.text
    return resp.json()["image"]["id"], data


def _fills(g, image_id) -> list[str]:
    return [line for line in g.api.log_text().splitlines()
            if "Cached image %s" % image_id in line]


def _store_reads(g, image_id) -> int:
    return sum(1 for line in g.api.log_text().splitlines()
               if "Reading image %s from the store" % image_id in line)


def _tool(name, *args) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.join(BIN, name), *map(str, args)], capture_output=True,
                          text=True, timeout=60)


def _cached(g) -> dict:
    return {e["image_id"]: e for e in requests.get(g.url + "/v2/cache").json()["cached_images"]}


def _wait_cached(g, image_id):
    assert poll_until(lambda: image_id in _cached(g), timeout=20)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_later_downloads_come_from_disk_with_the_same_headers_bytes_and_ranges(g, version):
    image_id, data = _image(g)
    path = "/v1/images/" + image_id if version == "v1" else "/v2/images/%s/file" % image_id
    ranged = {"Range": "bytes=1000-2999"}
    first_range = requests.get(g.url + path, headers=ranged) if version == "v2" else None
    first = requests.get(g.url + path)
    assert first.status_code == 200 and first.content == data
    assert first.headers["Content-MD5" if version == "v2" else "ETag"] == \
        hashlib.md5(data).hexdigest()
    _wait_cached(g, image_id)
    assert len(_fills(g, image_id)) == 1
    again = requests.get(g.url + path)
    assert again.content == data
    assert {h: again.headers.get(h) for h in SAME} == {h: first.headers.get(h) for h in SAME}
    if version == "v1":
        assert {k: v for k, v in again.headers.items() if k.startswith("x-image-meta")} == \
            {k: v for k, v in first.headers.items() if k.startswith("x-image-meta")}
    else:
        cached_range = requests.get(g.url + path, headers=ranged)
        assert cached_range.status_code == first_range.status_code == 206
        assert cached_range.content == first_range.content == data[1000:3000]
        assert {h: cached_range.headers.get(h) for h in SAME} == \
            {h: first_range.headers.get(h) for h in SAME}
    assert _cached(g)[image_id]["hits"] == (1 if version == "v1" else 2)
    assert _cached(g)[image_id]["size"] == len(data)


def test_eight_concurrent_first_downloads_read_the_store_once(g):
    image_id, data = _image(g, 4 * MIB)
    bodies = [None] * 8

    def download(i):
        bodies[i] = requests.get(g.url + "/v2/images/%s/file" % image_id, timeout=60).content

    threads = [threading.Thread(target=download, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert bodies == [data] * 8
    _wait_cached(g, image_id)
    fills = _fills(g, image_id)
    assert len(fills) == 1 and ("%d bytes read from the store" % len(data)) in fills[0]
    assert _store_reads(g, image_id) == 0


def test_queued_images_are_cached_by_the_prefetcher(g):
    image_id, data = _image(g)
    assert requests.put(g.url + "/v2/cache/" + image_id).status_code == 202
    assert requests.get(g.url + "/v2/cache").json()["queued_images"] == [image_id]
    done = _tool("glance-cache-prefetcher", "--config-file", g.api.config)
    assert done.returncode == 0, done.stderr
    assert "cached %s" % image_id in done.stdout
    state = requests.get(g.url + "/v2/cache").json()
    assert state["queued_images"] == [] and image_id in _cached(g)
    got = requests.get(g.url + "/v2/images/%s/file" % image_id)
    assert got.content == data and _cached(g)[image_id]["hits"] == 1


def test_a_deleted_image_is_not_served_and_the_cleaner_removes_its_copy(g):
    image_id, data = _image(g)
    requests.get(g.url + "/v1/images/" + image_id)
    _wait_cached(g, image_id)
    assert requests.delete(g.url + "/v1/images/" + image_id).status_code == 200
    assert requests.get(g.url + "/v1/images/" + image_id).status_code == 404
    assert requests.get(g.url + "/v2/images/%s/file" % image_id).status_code == 404
    cleaned = _tool("glance-cache-cleaner", "--config-file", g.api.config)
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed %s: image no longer active" % image_id in cleaned.stdout
    assert image_id not in _cached(g)
    assert not (g.cache_dir / image_id).exists()


def test_the_pruner_evicts_the_least_recently_used_down_to_the_size(g, tmp_path):
    ids = []
    for _ in range(3):
        image_id, _data = _image(g)
        requests.get(g.url + "/v2/images/%s/file" % image_id)
        _wait_cached(g, image_id)
        ids.append(image_id)
    requests.get(g.url + "/v2/images/%s/file" % ids[0])  # now the most recent
    small = daemons.write_config(tmp_path / "small.conf", {
        "DEFAULT": {"image_cache_max_size": 2 * MIB + 100}})
    pruned = _tool("glance-cache-pruner", "--config-file", g.api.config,
                   "--config-file", small)
    assert pruned.returncode == 0, pruned.stderr
    left = _cached(g)
    assert ids[0] in left and ids[1] not in left
    assert sum(e["size"] for e in left.values()) <= 2 * MIB + 100
    assert not (g.cache_dir / ids[1]).exists()


def test_clearing_the_cache_over_the_api_empties_it(g):
    image_id, _data = _image(g)
    requests.get(g.url + "/v2/images/%s/file" % image_id)
    _wait_cached(g, image_id)
    assert requests.delete(g.url + "/v2/cache/" + image_id).status_code == 204
    assert image_id not in _cached(g) and not (g.cache_dir / image_id).exists()
    assert requests.delete(g.url + "/v2/cache", headers={
        "x-image-cache-clear-target": "cache"}).status_code == 204
    assert _cached(g) == {}


def test_the_tools_refuse_a_node_without_a_cache(tmp_path):
    conf = daemons.write_config(tmp_path / "api.conf", {"DEFAULT": {}})
    for tool in ("glance-cache-pruner", "glance-cache-cleaner", "glance-cache-prefetcher"):
        done = _tool(tool, "--config-file", conf)
        assert done.returncode == 2 and "image_cache_dir is not set" in done.stderr
