"""Removals that failed because the store was unreachable, retried by the sweep.

The list on its own (with a clock the test moves), then the upload and the
sweep over a real file store behind a small honest fake: a driver that is
"unreachable" while ``down`` is set, as Swift is when its proxy died, and
that leaves its partial file behind when a write fails then.
"""

from __future__ import annotations

import datetime
import io
import os
import secrets

import pytest

import glance_store
from glance_api import registry_client
from glance_api.data.leftovers import Leftover
from glance_api.data.leftovers import Leftovers
from glance_api.data.sweep import remove_leftover
from glance_api.data.sweep import sweep_once
from glance_api.data.upload import KILL
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import StoreFailed
from glance_api.data.upload import Uploader
from glance_api.imports import progress
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc
from glance_store.drivers.filesystem import FilesystemDriver
from glance_store.drivers.swift import SwiftDriver

ALICE = RequestContext.build("alice", "tenant-a", ["member"])
ADMIN = RequestContext.build("admin", "admin", ["admin"])
LATER = datetime.datetime(2100, 1, 1)  # every heartbeat of the fake registry is stale
DATA = os.urandom(200 * 1024)
MiB = 1024 * 1024


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Notes:
    def image_event(self, ctx, event_type, image):
        pass


class Remover:
    """A ``remove`` for Leftovers.retry that answers from a script."""

    def __init__(self, **answers):
        self.answers = answers  # image id -> True, False or an exception
        self.calls = []

    def __call__(self, leftover):
        self.calls.append(leftover.image_id)
        answer = self.answers.get(leftover.image_id, True)
        if isinstance(answer, BaseException):
            raise answer
        return answer


class Unreachable(FilesystemDriver):
    """A file store that cannot be reached while ``down``: a write that fails
    then leaves its partial file, as a store gone mid-upload does."""

    down = False

    def _check(self, doing: str) -> None:
        if self.down:
            raise store_exc.RemoteServiceUnavailable(doing + " failed: cannot reach the store")

    def add(self, image_id, reader):
        if not self.down:
            return super().add(image_id, reader)
        reader.read(64 * 1024)
        datadir = self.datadirs[0][0]
        with open(os.path.join(datadir, ".%s.%s.part" % (image_id, secrets.token_hex(8))),
                  "wb") as partial:
            partial.write(b"p" * 64 * 1024)
        self._check("writing " + image_id)

    def delete(self, location):
        self._check("deleting " + location)
        super().delete(location)

    def discard_partial(self, image_id):
        self._check("discarding " + image_id)
        return super().discard_partial(image_id)


@pytest.fixture
def driver(datadir):
    return Unreachable([(str(datadir), 0)])


@pytest.fixture
def stores(driver):
    return glance_store.Stores({"far": driver}, default_store="far")


def uploader_for(registry, stores):
    # No backoff: every entry is due at each pass, the test does not wait.
    return Uploader(registry, stores, Notes(), storage_quota=0, size_cap=1 << 40,
                    heartbeat_interval=3600.0, leftovers=Leftovers(first_delay=0.0))


def names(datadir):
    return sorted(p.name for p in datadir.iterdir())


# --- the list -----------------------------------------------------------------

def test_a_removal_is_retried_with_backoff_until_it_works():
    clock = Clock()
    leftovers = Leftovers(first_delay=1.0, max_delay=4.0, clock=clock)
    leftovers.remember(Leftover("img", "swift"))
    remove = Remover(img=False)

    assert leftovers.retry(remove) == []   # not due yet
    waits = []
    for _ in range(4):
        before = len(remove.calls)
        step = 0.0
        while len(remove.calls) == before:
            clock.now += 0.5
            step += 0.5
            leftovers.retry(remove)
        waits.append(step)
    assert waits == [1.0, 2.0, 4.0, 4.0]   # doubling, then capped
    remove.answers["img"] = True
    clock.now += 4.0
    assert leftovers.retry(remove) == [Leftover("img", "swift")]
    assert len(leftovers) == 0


def test_one_failure_never_stops_the_rest_of_the_pass():
    clock = Clock()
    leftovers = Leftovers(first_delay=0.0, clock=clock)
    for image_id, store in (("a", "one"), ("b", "two"), ("c", "three"), ("d", "four")):
        leftovers.remember(Leftover(image_id, store))
    remove = Remover(a=store_exc.StorageWriteDenied("read-only"),
                     b=registry_client.Unavailable("registry down"),
                     c=RuntimeError("a bug"))

    settled = leftovers.retry(remove)

    assert remove.calls == ["a", "b", "c", "d"]
    assert settled == [Leftover("d", "four")]
    assert leftovers.pending() == [Leftover("a", "one"), Leftover("b", "two"),
                                   Leftover("c", "three")]


def test_a_store_that_proved_unreachable_is_not_asked_again_in_the_same_pass():
    clock = Clock()
    leftovers = Leftovers(first_delay=0.0, clock=clock)
    for image_id, store in (("a", "swift"), ("b", "swift"), ("c", "file")):
        leftovers.remember(Leftover(image_id, store))
    remove = Remover(a=store_exc.RemoteServiceUnavailable("connection refused"))

    assert leftovers.retry(remove) == [Leftover("c", "file")]
    assert remove.calls == ["a", "c"]
    remove.answers["a"] = True
    clock.now += 60.0
    assert leftovers.retry(remove) == [Leftover("a", "swift"), Leftover("b", "swift")]


def test_the_list_is_bounded_and_drops_its_oldest_entry():
    leftovers = Leftovers(limit=2)
    for image_id in ("first", "second", "third", "third"):
        leftovers.remember(Leftover(image_id, "swift"))
    assert leftovers.pending() == [Leftover("second", "swift"), Leftover("third", "swift")]


# --- the upload and the sweep ---------------------------------------------------

@pytest.mark.parametrize("policy", [KILL, REQUEUE])
def test_a_store_gone_mid_upload_fails_the_image_and_the_sweep_removes_its_bytes_later(
        registry, stores, driver, datadir, policy):
    uploader = uploader_for(registry, stores)
    image = registry.add(owner="tenant-a")
    driver.down = True
    with pytest.raises(StoreFailed):
        uploader.upload(ALICE, image, _Body(DATA), size=len(DATA), on_failure=policy)
    assert registry.images[image["id"]]["status"] == policy.status
    assert names(datadir) != []                      # the store could not clean up
    assert uploader.leftovers.pending() == [Leftover(image["id"], "far")]

    leftovers = uploader.leftovers
    sweep_once(registry, stores, 1, now=LATER, leftovers=leftovers)
    assert names(datadir) != [] and len(leftovers) == 1   # still away: kept

    driver.down = False
    sweep_once(registry, stores, 1, now=LATER, leftovers=leftovers)
    assert names(datadir) == []
    assert len(leftovers) == 0


def test_an_unreachable_store_does_not_stop_the_sweep_failing_every_abandoned_upload(
        registry, stores, driver, datadir):
    first = registry.add(owner="tenant-a", status="saving")
    second = registry.add(owner="tenant-a", status="saving")
    for image in (first, second):
        (datadir / (".%s.%s.part" % (image["id"], "ab" * 8))).write_bytes(b"p")
    leftovers = Leftovers(first_delay=0.0)
    driver.down = True

    swept = sweep_once(registry, stores, 1, now=LATER, leftovers=leftovers)

    assert sorted(swept) == sorted([first["id"], second["id"]])
    assert {registry.images[i]["status"] for i in swept} == {"killed"}
    assert sorted(leftovers.pending(), key=lambda x: x.image_id) == sorted(
        [Leftover(first["id"], "far"), Leftover(second["id"], "far")],
        key=lambda x: x.image_id)
    driver.down = False
    sweep_once(registry, stores, 1, now=LATER, leftovers=leftovers)
    assert names(datadir) == [] and len(leftovers) == 0


@pytest.mark.parametrize("status,properties", [
    ("saving", {}), ("importing", {}), ("active", {progress.IMPORTING_TO: "far"})])
def test_partial_data_is_left_alone_while_its_image_may_be_writing_again(
        registry, stores, datadir, status, properties):
    image = registry.add(owner="tenant-a", status=status, properties=properties)
    partial = datadir / (".%s.%s.part" % (image["id"], "cd" * 8))
    partial.write_bytes(b"being written by a new upload")
    leftover = Leftover(image["id"], "far")

    assert remove_leftover(registry, ADMIN, stores, leftover) is False
    assert partial.exists()
    registry.images[image["id"]].update(status="killed", properties={})
    assert remove_leftover(registry, ADMIN, stores, leftover) is True
    assert not partial.exists()


def test_an_object_the_registry_recorded_after_all_is_not_removed(registry, stores, datadir):
    uploader = uploader_for(registry, stores)
    image = uploader.upload(ALICE, registry.add(owner="tenant-a"), _Body(DATA),
                            size=len(DATA))
    location = image["locations"][0]["url"]

    assert remove_leftover(registry, ADMIN, stores,
                           Leftover(image["id"], "far", location)) is True
    assert names(datadir) == [image["id"]]
    registry.images[image["id"]]["locations"] = []   # never recorded, as it turns out
    assert remove_leftover(registry, ADMIN, stores,
                           Leftover(image["id"], "far", location)) is True
    assert names(datadir) == []


def test_an_object_stored_but_not_recorded_is_removed_once_the_store_is_back(
        registry, stores, driver, datadir):
    uploader = uploader_for(registry, stores)
    image = registry.add(owner="tenant-a")
    # The registry takes the bytes' record badly, and the store is gone for
    # the removal that follows.
    registry.outage("update", lambda changes: changes.get("status") == "active")
    original_delete = driver.delete

    def delete_while_down(location):
        driver.down = True
        original_delete(location)

    driver.delete = delete_while_down
    with pytest.raises(registry_client.Unavailable):
        uploader.upload(ALICE, image, _Body(DATA), size=len(DATA))
    assert names(datadir) == [image["id"]]
    [leftover] = uploader.leftovers.pending()
    assert leftover.location is not None

    del driver.delete
    driver.down = False
    registry.images[image["id"]]["status"] = "killed"
    sweep_once(registry, stores, 1, now=LATER, leftovers=uploader.leftovers)
    assert names(datadir) == []


class _Body:
    def __init__(self, data: bytes):
        self._data, self._at = data, 0

    def read(self, size=-1):
        size = len(self._data) if size is None or size < 0 else size
        chunk = self._data[self._at:self._at + size]
        self._at += len(chunk)
        return chunk



def test_an_object_swift_kept_when_its_answer_was_lost_goes_unless_an_image_records_it(
        registry, swift_cluster):
    container = "leftovers-%s" % secrets.token_hex(6)
    swift = SwiftDriver(auth_address=swift_cluster.auth_url, user=swift_cluster.user,
                        key=swift_cluster.key, container=container,
                        create_container=True, large_object_size=MiB, chunk_size=MiB)
    stores = glance_store.Stores({"swift": swift}, default_store="swift")
    data = os.urandom(MiB + 5)   # a manifest and two segments
    lost = registry.add(owner="tenant-a", status="queued")
    stores.add(lost["id"], io.BytesIO(data), size=len(data))
    kept = registry.add(owner="tenant-a", status="killed")
    stored = stores.add(kept["id"], io.BytesIO(data), size=len(data))
    registry.images[kept["id"]].update(
        status="active", locations=[{"url": stored.location, "metadata": {}}])

    for image in (lost, kept):
        assert remove_leftover(registry, ADMIN, stores, Leftover(image["id"], "swift"))

    assert swift_cluster.list_container(container) == [
        kept["id"], kept["id"] + "-00001", kept["id"] + "-00002"]
