"""A fetch the api owes a queued image is recorded in the registry before it
waits in the pool, vouched for while it waits, and swept when nobody vouches
for it any more (the api died): the image never stays queued for ever."""

from __future__ import annotations

import datetime
import logging
import threading

import pytest

from glance_api.data.fetch import Fetcher
from glance_api.data.sweep import sweep_once
from glance_api.data.upload import Uploader
from glance_common import timestamps
from glance_common.context import RequestContext
from tests.unit.glance_api.api_support import FakeRegistry
from tests.unit.glance_api.api_support import file_stores
from tests.waiting import poll_until

ALICE = RequestContext.build("alice", "tenant-a", ["member"])
DATA = b"fetched bytes" * 1000
INTERVAL = 1.0


class Notes:
    def image_event(self, ctx, event_type, image):
        pass


class _Source:
    """What a store's get() gives: chunks and a size, closed after use."""

    def __init__(self, data: bytes):
        self.size = len(data)
        self._data = data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __iter__(self):
        yield self._data


class GatedSources:
    """A real file store that also serves URLs, each once ``gate`` opens."""

    def __init__(self, datadir):
        self._file = file_stores(datadir)
        self.gate = threading.Event()
        self.fetched: list[str] = []

    def get(self, url):
        self.fetched.append(url)
        assert self.gate.wait(10)
        return _Source(DATA)

    def __getattr__(self, name):
        return getattr(self._file, name)


@pytest.fixture
def registry():
    return FakeRegistry()


@pytest.fixture
def sources(tmp_path):
    return GatedSources(tmp_path)


@pytest.fixture
def fetcher(registry, sources):
    # A long interval: the test beats by hand.
    uploader = Uploader(registry, sources, Notes(), storage_quota=0, size_cap=1 << 30,
                        heartbeat_interval=3600.0)
    fetcher = Fetcher(uploader, workers=1)
    yield fetcher
    sources.gate.set()
    fetcher.stop()


def _queued(registry):
    return registry.add(owner="tenant-a", disk_format="raw", container_format="bare")


def test_a_fetch_is_recorded_before_it_waits_vouched_for_and_forgotten_once_active(
        fetcher, registry, sources):
    image = _queued(registry)
    fetcher.start(ALICE, image, "http://source/disk", size=None, store=None)
    first = registry.fetch_pending[image["id"]]
    fetcher.beat()
    assert registry.fetch_pending[image["id"]] > first
    sources.gate.set()
    assert poll_until(lambda: registry.images[image["id"]]["status"] == "active", 10)
    assert registry.fetch_pending == {}


def test_a_waiting_fetch_whose_image_was_swept_meanwhile_never_starts(
        fetcher, registry, sources):
    running, waiting = _queued(registry), _queued(registry)
    fetcher.start(ALICE, running, "http://source/running", size=None, store=None)
    fetcher.start(ALICE, waiting, "http://source/waiting", size=None, store=None)
    registry.images[waiting["id"]]["status"] = "killed"  # another api's sweep
    fetcher.beat()
    sources.gate.set()
    assert poll_until(lambda: registry.images[running["id"]]["status"] == "active", 10)
    fetcher.stop()
    assert sources.fetched == ["http://source/running"]
    assert registry.images[waiting["id"]]["status"] == "killed"


def test_the_sweep_kills_queued_images_whose_fetch_nobody_vouches_for(registry, caplog):
    abandoned, alive, plain = _queued(registry), _queued(registry), _queued(registry)
    registry.vouch_for_fetch(ALICE, abandoned["id"], True)
    registry.vouch_for_fetch(ALICE, alive["id"], True)
    # Four missed beats after the live fetch's last one: only the older is stale.
    now = timestamps.parse_iso(registry.fetch_pending[alive["id"]]) + datetime.timedelta(
        seconds=4 * INTERVAL)
    with caplog.at_level(logging.WARNING, logger="glance_api.data.sweep"):
        failed = sweep_once(registry, registry_stores(), INTERVAL, now=now)
    assert failed == [abandoned["id"]]
    assert [registry.images[i["id"]]["status"] for i in (abandoned, alive, plain)] == [
        "killed", "queued", "queued"]
    assert list(registry.fetch_pending) == [alive["id"]]
    assert "Image %s is now killed: the api that was to fetch its data" % abandoned[
        "id"] in caplog.text


def registry_stores():
    """Stores the sweep must not touch for a queued image: nothing was stored."""

    class Untouchable:
        def discard_partial(self, image_id):
            raise AssertionError("nothing to discard for a queued image")

    return Untouchable()
