"""The image cache of one node: fill once, serve from disk, never serve what
the registry says is gone, never grow past its size."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from glance_api.cache import fill
from glance_api.cache import maintenance
from glance_api.cache import serve
from glance_api.cache.store import CacheStore
from glance_api.exceptions import ServiceUnavailable
from glance_store import ImageData
from tests.unit.glance_api.api_support import FakeRegistry
from tests.waiting import poll_until

KIB = 1024


class FakeStores:
    """Stores holding images in memory, counting reads; can fail or hold reads."""

    def __init__(self):
        self.data: dict[str, bytes] = {}
        self.reads: list[tuple[str, int]] = []
        self.fail_after: int | None = None  # the next read breaks after these bytes
        self.gate: threading.Event | None = None  # whole reads wait after one chunk

    def put(self, registry: FakeRegistry, data: bytes, **fields) -> dict:
        image = registry.add(status="active", size=len(data),
                             checksum=hashlib.md5(data).hexdigest(), **fields)
        url = "fake://" + image["id"]
        self.data[url] = data
        registry.images[image["id"]]["locations"] = [{"url": url, "metadata": {}}]
        image["locations"] = [{"url": url, "metadata": {}}]
        return image

    def get(self, location, offset=0, length=None, store=None):
        data = self.data[location]
        end = len(data) if length is None else offset + length
        self.reads.append((location, offset))
        fail_after, self.fail_after = self.fail_after, None
        gate = self.gate if offset == 0 else None

        def chunks():
            sent = 0
            for start in range(offset, end, 4 * KIB):
                chunk = data[start:min(start + 4 * KIB, end)]
                if fail_after is not None and sent + len(chunk) > fail_after:
                    raise OSError("store connection lost")
                yield chunk
                sent += len(chunk)
                if gate is not None and start == offset:
                    assert gate.wait(10), "the readers never all started"
        return ImageData(chunks(), end - offset)


@pytest.fixture
def cache(tmp_path):
    return CacheStore(str(tmp_path / "cache"), max_size=1024 * KIB, stall_time=3600)


@pytest.fixture
def registry():
    return FakeRegistry()


@pytest.fixture
def stores():
    return FakeStores()


def _read(data) -> bytes:
    with data:
        return b"".join(data)


def _wait_cached(cache, image_id):
    assert poll_until(lambda: cache.is_cached(image_id) and not cache.is_filling(image_id),
                      timeout=10)


def _leftovers(cache) -> list[str]:
    return sorted(n for n in os.listdir(cache.incomplete_dir) if not n.endswith(".lock"))


def test_the_first_download_fills_and_the_next_is_served_from_disk(cache, registry, stores):
    payload = os.urandom(100 * KIB + 7)
    image = stores.put(registry, payload)
    assert _read(serve.open_image(cache, stores, image)) == payload
    _wait_cached(cache, image["id"])
    again = serve.open_image(cache, stores, image)
    assert again.fileobj is not None  # a real file: the server may sendfile it
    assert _read(again) == payload
    assert len(stores.reads) == 1
    entry = cache.entries()[0]
    assert (entry.image_id, entry.size, entry.hits) == (image["id"], len(payload), 1)


def test_a_range_is_served_from_the_cached_copy(cache, registry, stores):
    payload = os.urandom(50 * KIB)
    image = stores.put(registry, payload)
    _read(serve.open_image(cache, stores, image))
    _wait_cached(cache, image["id"])
    part = serve.open_image(cache, stores, image, 1000, 5000)
    assert part.size == 5000 and _read(part) == payload[1000:6000]
    assert len(stores.reads) == 1


def test_a_range_of_an_uncached_image_comes_from_the_store_and_fills_nothing(
        cache, registry, stores):
    payload = os.urandom(50 * KIB)
    image = stores.put(registry, payload)
    assert _read(serve.open_image(cache, stores, image, 10, 20)) == payload[10:30]
    assert not cache.is_cached(image["id"]) and cache.entries() == []


def test_concurrent_first_downloads_share_one_store_read_and_all_stream_during_the_fill(
        cache, registry, stores):
    payload = os.urandom(200 * KIB)
    image = stores.put(registry, payload)
    stores.gate = threading.Event()
    readers, first_chunks, results = 8, [], [None] * 8

    def reader(i):
        data = serve.open_image(cache, stores, image)
        chunks = iter(data)
        first = next(chunks)
        first_chunks.append(i)
        if len(first_chunks) == readers:
            stores.gate.set()  # the store holds the rest until every reader has bytes
        results[i] = first + b"".join(chunks)
        data.close()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == [payload] * readers
    assert len(stores.reads) == 1
    _wait_cached(cache, image["id"])


def test_a_fill_whose_checksum_does_not_match_leaves_nothing_behind(cache, registry, stores):
    payload = os.urandom(30 * KIB)
    image = stores.put(registry, payload)
    image["checksum"] = "0" * 32
    _read(serve.open_image(cache, stores, image))
    assert poll_until(lambda: not cache.is_filling(image["id"]), timeout=10)
    assert not cache.is_cached(image["id"])
    assert not os.path.exists(cache.path(image["id"]))
    assert _leftovers(cache) == [] and cache.index.fills() == []


def test_a_fill_the_store_breaks_leaves_nothing_and_readers_finish_from_the_store(
        cache, registry, stores):
    payload = os.urandom(60 * KIB)
    image = stores.put(registry, payload)
    stores.fail_after = 20 * KIB
    assert _read(serve.open_image(cache, stores, image)) == payload
    assert poll_until(lambda: not cache.is_filling(image["id"]), timeout=10)
    assert not cache.is_cached(image["id"]) and _leftovers(cache) == []
    assert cache.index.fills() == []
    # The second read starts where this reader had got to when the fill broke.
    assert len(stores.reads) == 2 and stores.reads[1][1] <= 20 * KIB


def test_a_store_that_refuses_answers_before_any_byte_and_frees_the_fill(
        cache, registry, stores):
    image = registry.add(status="active", size=10, checksum="x" * 32,
                         locations=[{"url": "fake://missing", "metadata": {}}])
    with pytest.raises(KeyError):
        serve.open_image(cache, stores, image)
    assert not cache.is_filling(image["id"]) and cache.index.fills() == []


def test_readers_of_a_fill_whose_process_died_carry_on_from_the_store(
        cache, registry, stores):
    payload = os.urandom(40 * KIB)
    image = stores.put(registry, payload)
    # A dead filler: its partial file stays, nobody holds its lock.
    with open(cache.incomplete_path(image["id"]), "wb") as partial:
        partial.write(payload[:10 * KIB])
    chunks = fill.follow(cache, image["id"], len(payload),
                         lambda pos: stores.get("fake://" + image["id"], pos,
                                                len(payload) - pos))
    assert b"".join(chunks) == payload
    assert stores.reads == [("fake://" + image["id"], 10 * KIB)]


@pytest.mark.parametrize("status", ["deactivated", "deleted", "pending_delete", "killed"])
def test_an_image_that_is_not_active_is_never_served_from_the_cache(
        cache, registry, stores, status):
    payload = os.urandom(10 * KIB)
    image = stores.put(registry, payload)
    _read(serve.open_image(cache, stores, image))
    _wait_cached(cache, image["id"])
    gone = dict(image, status=status)
    data = serve.open_image(cache, stores, gone)
    assert data.fileobj is None and _read(data) == payload
    assert len(stores.reads) == 2  # the store, not the cache
    assert cache.entries()[0].hits == 0


def test_a_cached_copy_of_other_data_is_removed_not_served(cache, registry, stores):
    payload, other = os.urandom(10 * KIB), os.urandom(10 * KIB)
    image = stores.put(registry, payload)
    _read(serve.open_image(cache, stores, image))
    _wait_cached(cache, image["id"])
    stores.data["fake://" + image["id"]] = other
    changed = dict(image, checksum=hashlib.md5(other).hexdigest())
    assert _read(serve.open_image(cache, stores, changed)) == other
    _wait_cached(cache, image["id"])
    assert open(cache.path(image["id"]), "rb").read() == other


def test_the_least_recently_used_image_makes_room(cache, registry, stores):
    cache.max_size = 250 * KIB
    images = [stores.put(registry, os.urandom(100 * KIB)) for _ in range(3)]
    for image in images[:2]:
        _read(serve.open_image(cache, stores, image))
        _wait_cached(cache, image["id"])
        time.sleep(0.01)  # distinct access times
    _read(serve.open_image(cache, stores, images[0]))  # the first is now the most recent
    _read(serve.open_image(cache, stores, images[2]))
    _wait_cached(cache, images[2]["id"])
    cached = {e.image_id for e in cache.entries()}
    assert cached == {images[0]["id"], images[2]["id"]}
    assert not os.path.exists(cache.path(images[1]["id"]))
    assert sum(e.size for e in cache.entries()) <= cache.max_size


def test_an_image_larger_than_the_cache_is_served_but_not_cached(cache, registry, stores):
    cache.max_size = 10 * KIB
    payload = os.urandom(20 * KIB)
    image = stores.put(registry, payload)
    assert _read(serve.open_image(cache, stores, image)) == payload
    assert poll_until(lambda: not cache.is_filling(image["id"]), timeout=10)
    assert cache.entries() == [] and _leftovers(cache) == []
    assert len(stores.reads) == 1 and cache.index.fills() == []


def test_the_pruner_evicts_down_to_a_lowered_size(cache, registry, stores):
    images = [stores.put(registry, os.urandom(100 * KIB)) for _ in range(3)]
    for image in images:
        _read(serve.open_image(cache, stores, image))
        _wait_cached(cache, image["id"])
        time.sleep(0.01)
    cache.max_size = 150 * KIB
    assert maintenance.prune(cache) == [images[0]["id"], images[1]["id"]]
    assert [e.image_id for e in cache.entries()] == [images[2]["id"]]
    assert not os.path.exists(cache.path(images[0]["id"]))


def test_the_cleaner_removes_dead_fills_strays_and_copies_of_inactive_images(
        cache, registry, stores):
    kept, retired = (stores.put(registry, os.urandom(5 * KIB)) for _ in range(2))
    for image in (kept, retired):
        _read(serve.open_image(cache, stores, image))
        _wait_cached(cache, image["id"])
    registry.images[retired["id"]]["status"] = "deactivated"
    dead = "0b1c5d6e-0000-4000-8000-000000000001"
    with open(cache.incomplete_path(dead), "wb") as partial:
        partial.write(b"half")
    stray = "0b1c5d6e-0000-4000-8000-000000000002"
    with open(os.path.join(cache.directory, stray), "wb") as junk:
        junk.write(b"junk")
    report = maintenance.clean(cache, registry)
    assert report.stalled == [dead] and report.invalid == [stray]
    assert report.retired == [retired["id"]]
    assert [e.image_id for e in cache.entries()] == [kept["id"]]
    assert _leftovers(cache) == []
    assert sorted(os.listdir(cache.directory)) == sorted(
        [kept["id"], "incomplete", "queue"] + [n for n in os.listdir(cache.directory)
                                               if n.startswith("cache.db")])


def test_the_cleaner_leaves_a_running_fill_alone(cache, registry, stores):
    image = stores.put(registry, os.urandom(5 * KIB))
    lock = fill.FillLock.take(cache, image["id"])
    try:
        with open(cache.incomplete_path(image["id"]), "wb") as partial:
            partial.write(b"x")
        assert maintenance.clean(cache).stalled == []
        assert os.path.exists(cache.incomplete_path(image["id"]))
    finally:
        lock.release()


def test_the_prefetcher_caches_active_queued_images_and_drops_the_rest(
        cache, registry, stores):
    active = stores.put(registry, os.urandom(8 * KIB))
    deleted = stores.put(registry, os.urandom(8 * KIB))
    registry.images[deleted["id"]]["deleted"] = True
    unknown = "0b1c5d6e-0000-4000-8000-00000000dead"
    for image_id in (active["id"], deleted["id"], unknown):
        assert cache.queue(image_id)
    report = maintenance.prefetch(cache, registry, stores)
    assert report.cached == [active["id"]]
    assert sorted(report.dropped) == sorted([deleted["id"], unknown])
    assert cache.queued() == [] and cache.is_cached(active["id"])
    assert not cache.queue(active["id"])  # cached already: nothing to queue


def test_ids_that_are_not_file_names_never_touch_the_disk(cache):
    for bad in ("../etc", "a/b", ".", "", "x" * 200):
        assert not cache.valid_id(bad)
        assert cache.open_cached(bad, None, 1) is None
        assert not cache.delete(bad)
    with pytest.raises(ValueError):
        cache.path("../escape")


def test_a_short_stored_copy_is_refused_when_the_cache_is_off(registry, stores):
    image = stores.put(registry, os.urandom(4 * KIB))
    image["size"] += 1
    with pytest.raises(ServiceUnavailable):
        serve.open_image(None, stores, image)
