"""The upload data path without HTTP: a real file store, a registry with real
compare-and-set semantics, and each way an upload can fail.

Every failure must leave no bytes in the store and the image where the
failure policy says (v1: killed; v2: queued with size and checksums cleared),
or in saving for the sweep when the registry itself is gone.
"""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from glance_api import registry_client
from glance_api.data.body import ClientBody
from glance_api.data.body import ClientDisconnected
from glance_api.data.upload import KILL
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import STEP
from glance_api.data.upload import ImageChanged
from glance_api.data.upload import Reservation
from glance_api.data.upload import StoreFailed
from glance_api.data.upload import Uploader
from glance_api.data.upload import UploadStream
from glance_api.exceptions import Conflict
from glance_api.exceptions import TooLarge
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc
from tests.unit.glance_api.api_support import file_stores

ALICE = RequestContext.build("alice", "tenant-a", ["member"])
DATA = os.urandom(3 * 65536 + 123)
FAILURES = [KILL, REQUEUE]


class Notes:
    """A notifier that records the events it is given."""

    def __init__(self):
        self.events = []

    def image_event(self, ctx, event_type, image):
        self.events.append((event_type, image["status"]))


class Broken:
    """A client body that stops after ``good`` bytes, as a dropped connection does."""

    def __init__(self, data: bytes, good: int):
        self._data = io.BytesIO(data[:good])

    def read(self, size=-1):
        chunk = self._data.read(size)
        if not chunk:
            raise ConnectionResetError("peer went away")
        return chunk


@pytest.fixture
def uploader(registry, datadir):
    return make_uploader(registry, datadir)


def make_uploader(registry, datadir, quota=0, cap=1 << 40, interval=3600.0):
    return Uploader(registry, file_stores(datadir), Notes(), storage_quota=quota,
                    size_cap=cap, heartbeat_interval=interval)


def queued(registry, **fields):
    return registry.add(owner="tenant-a", **fields)


def stored_files(datadir):
    return sorted(p.name for p in datadir.iterdir())


def test_an_upload_stores_the_bytes_and_activates_with_both_hashes(uploader, registry,
                                                                    datadir):
    image = queued(registry)
    active = uploader.upload(ALICE, image, io.BytesIO(DATA), size=len(DATA))
    assert active["status"] == "active"
    assert active["size"] == len(DATA)
    assert active["checksum"] == hashlib.md5(DATA).hexdigest()
    assert active["os_hash_algo"] == "sha512"
    assert active["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert stored_files(datadir) == [image["id"]]
    assert (datadir / image["id"]).read_bytes() == DATA
    assert [e for e, _ in uploader.notifier.events] == [
        "image.prepare", "image.upload", "image.activate"]


def test_an_image_that_is_not_queued_is_a_conflict_and_nothing_is_stored(
        uploader, registry, datadir):
    image = queued(registry, status="saving")
    with pytest.raises(Conflict):
        uploader.upload(ALICE, image, io.BytesIO(DATA))
    assert registry.images[image["id"]]["status"] == "saving"
    assert stored_files(datadir) == []


@pytest.mark.parametrize("policy", FAILURES)
def test_a_client_that_goes_away_leaves_no_bytes(uploader, registry, datadir, policy):
    image = queued(registry)
    with pytest.raises(ClientDisconnected):
        uploader.upload(ALICE, image, ClientBody(Broken(DATA, 70000)), on_failure=policy)
    assert registry.images[image["id"]]["status"] == policy.status
    assert stored_files(datadir) == []


@pytest.mark.parametrize("policy", FAILURES)
def test_a_size_mismatch_is_400_and_leaves_no_bytes(uploader, registry, datadir, policy):
    image = queued(registry)
    with pytest.raises(StoreFailed) as raised:
        uploader.upload(ALICE, image, io.BytesIO(DATA), size=len(DATA) + 1,
                        on_failure=policy)
    assert isinstance(raised.value.__cause__, store_exc.SizeMismatch)
    assert "Setting image status to '%s'" % policy.status in raised.value.message
    assert registry.images[image["id"]]["status"] == policy.status
    assert stored_files(datadir) == []


def test_a_checksum_mismatch_leaves_no_bytes(uploader, registry, datadir):
    image = queued(registry)
    with pytest.raises(StoreFailed) as raised:
        uploader.upload(ALICE, image, io.BytesIO(DATA), checksum="0" * 32)
    assert isinstance(raised.value.__cause__, store_exc.ChecksumMismatch)
    assert registry.images[image["id"]]["status"] == "killed"
    assert stored_files(datadir) == []


def test_v2s_policy_puts_the_image_back_to_queued_with_size_and_hashes_cleared(
        uploader, registry):
    image = queued(registry, size=len(DATA), checksum="0" * 32)
    with pytest.raises(StoreFailed):
        uploader.upload(ALICE, image, io.BytesIO(DATA), checksum="0" * 32,
                        on_failure=REQUEUE)
    after = registry.images[image["id"]]
    assert after["status"] == "queued"
    assert (after["size"], after["checksum"], after["os_hash_algo"],
            after["os_hash_value"]) == (None, None, None, None)


class FullStore:
    """A store that takes some bytes, then finds its disk full."""

    def __init__(self, real):
        self.real = real

    def add(self, image_id, stream, **kwargs):
        stream.read(1000)
        raise store_exc.StorageFull("There is not enough disk space left")

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.mark.parametrize("policy", FAILURES)
def test_a_full_store_is_413_and_the_refused_body_is_drained(registry, datadir, policy):
    uploader = make_uploader(registry, datadir)
    uploader.stores = FullStore(uploader.stores)
    image = queued(registry)
    body = io.BytesIO(DATA)
    with pytest.raises(StoreFailed):
        uploader.upload(ALICE, image, ClientBody(body), on_failure=policy)
    assert body.tell() == len(DATA)  # the client got to send it all and read the answer
    assert registry.images[image["id"]]["status"] == policy.status


def test_the_size_cap_stops_a_stream_and_leaves_no_bytes(registry, datadir):
    uploader = make_uploader(registry, datadir, cap=1000)
    image = queued(registry)
    with pytest.raises(StoreFailed) as raised:
        uploader.upload(ALICE, image, io.BytesIO(DATA))
    assert isinstance(raised.value.__cause__, store_exc.SizeLimitExceeded)
    assert registry.images[image["id"]]["status"] == "killed"
    assert stored_files(datadir) == []


def test_a_quota_crossed_mid_stream_is_413_and_leaves_no_bytes(registry, datadir):
    uploader = make_uploader(registry, datadir, quota=1000)
    image = queued(registry)
    with pytest.raises(TooLarge):
        uploader.upload(ALICE, image, io.BytesIO(DATA))
    assert registry.images[image["id"]]["status"] == "killed"
    assert stored_files(datadir) == []


def test_a_declared_size_over_the_quota_is_refused_before_any_byte(registry, datadir):
    uploader = make_uploader(registry, datadir, quota=1000)
    image = queued(registry)
    body = io.BytesIO(DATA)
    with pytest.raises(TooLarge):
        uploader.upload(ALICE, image, body, size=len(DATA))
    assert registry.held == {}
    assert stored_files(datadir) == []


def test_registry_down_when_the_upload_starts_leaves_the_image_queued(
        uploader, registry, datadir):
    image = queued(registry)
    registry.outage("update", lambda changes: changes.get("status") == "saving")
    with pytest.raises(registry_client.Unavailable):
        uploader.upload(ALICE, image, io.BytesIO(DATA))
    assert registry.images[image["id"]]["status"] == "queued"
    assert stored_files(datadir) == []


def test_registry_down_for_a_heartbeat_does_not_stop_the_upload(registry, datadir):
    uploader = make_uploader(registry, datadir, interval=0.0)
    image = queued(registry)
    registry.outage("update", lambda changes: changes == {})
    active = uploader.upload(ALICE, image, io.BytesIO(DATA))
    assert active["status"] == "active"
    assert ("update", {}) in registry.calls  # heartbeats were tried


def test_an_image_deleted_mid_upload_stops_it_at_the_next_heartbeat(registry, datadir):
    uploader = make_uploader(registry, datadir, interval=0.0)
    image = queued(registry)

    class DeletedAfterFirstChunk(io.BytesIO):
        def read(self, size=-1):
            chunk = super().read(size)
            registry.images[image["id"]]["status"] = "deleted"
            return chunk

    with pytest.raises(ImageChanged):
        uploader.upload(ALICE, image, DeletedAfterFirstChunk(DATA))
    assert registry.images[image["id"]]["status"] == "deleted"
    assert stored_files(datadir) == []


@pytest.mark.parametrize("policy", FAILURES)
def test_registry_down_when_activating_removes_the_bytes_and_fails_the_image(
        uploader, registry, datadir, policy):
    image = queued(registry)
    registry.outage("update", lambda changes: changes.get("status") == "active")
    with pytest.raises(registry_client.Unavailable):
        uploader.upload(ALICE, image, io.BytesIO(DATA), on_failure=policy)
    assert registry.images[image["id"]]["status"] == policy.status
    assert stored_files(datadir) == []


def test_registry_gone_after_the_bytes_are_stored_leaves_saving_for_the_sweep(
        uploader, registry, datadir):
    image = queued(registry)
    registry.outage("update", lambda changes: changes.get("status") != "saving")
    with pytest.raises(registry_client.Unavailable):
        uploader.upload(ALICE, image, io.BytesIO(DATA))
    assert registry.images[image["id"]]["status"] == "saving"
    assert stored_files(datadir) == []


def test_registry_gone_when_a_failure_is_recorded_still_leaves_no_bytes(
        uploader, registry, datadir):
    image = queued(registry)
    registry.outage("update", lambda changes: changes.get("status") == "killed")
    with pytest.raises(StoreFailed):
        uploader.upload(ALICE, image, io.BytesIO(DATA), size=1)
    assert registry.images[image["id"]]["status"] == "saving"
    assert stored_files(datadir) == []


def test_an_image_deleted_before_activation_keeps_no_bytes(uploader, registry, datadir):
    image = queued(registry)

    class DeletedAtTheEnd(io.BytesIO):
        def read(self, size=-1):
            chunk = super().read(size)
            if not chunk:
                registry.images[image["id"]]["deleted"] = True
            return chunk

    with pytest.raises(ImageChanged):
        uploader.upload(ALICE, image, DeletedAtTheEnd(DATA))
    assert stored_files(datadir) == []


class Ledger:
    """A registry that holds bytes against one quota, as the real one does."""

    def __init__(self, room: int):
        self.room = room
        self.calls = []

    def reserve(self, ctx, image_id, at_least, wanted, quota_):
        self.calls.append((at_least, wanted))
        if at_least > self.room:
            raise registry_client.QuotaExceeded("over quota")
        return min(wanted, self.room)


def test_a_stream_holds_ahead_in_steps_and_is_stopped_where_it_crosses_the_quota():
    ledger = Ledger(room=STEP + 100)
    hold = Reservation(ALICE, ledger, {"id": "i", "owner": "tenant-a"}, 10 ** 12)
    stream = UploadStream(io.BytesIO(b"x" * (STEP + 200)), hold, lambda: None, 3600)
    assert len(stream.read(50)) == 50
    assert ledger.calls == [(50, 50 + STEP)]
    assert hold.held == 50 + STEP
    stream.read(STEP)  # still within what is held: nothing asked
    assert len(ledger.calls) == 1
    with pytest.raises(TooLarge):
        stream.read(100)  # past the held bytes, and past the room left
    assert ledger.calls[-1][0] == STEP + 150


def test_without_a_project_nothing_is_asked():
    ledger = Ledger(room=0)
    hold = Reservation(ALICE, ledger, {"id": "i", "owner": None}, 100)
    hold.ensure(10 ** 9)
    assert ledger.calls == []
