"""Imports without HTTP: the importer and the sweep over a registry with
real compare-and-set semantics, two real file stores, a real staging area
and small honest fakes for what fails (a full store, a source that dies).

Every failure must leave no bytes in any store (but the stores that
succeeded when not all had to), the image where it can be retried, and the
task failed with a message.
"""

from __future__ import annotations

import copy
import datetime
import io
import os
import uuid

import pytest

import glance_store
from glance_api import registry_client
from glance_api.data.sweep import sweep_once
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import UPLOAD_API_PROPERTY
from glance_api.data.upload import Uploader
from glance_api.imports import progress
from glance_api.imports.importer import Importer
from glance_api.imports.request import ImportRequest
from glance_api.imports.sources import catalog_endpoint
from glance_api.imports.staging import StagingArea
from glance_api.imports.staging import stage
from glance_common import timestamps
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc
from glance_store.driver import ImageData
from glance_store.drivers.filesystem import FilesystemDriver
from tests.clients import qcow2
from tests.unit.glance_api.api_support import FakeRegistry
from tests.unit.glance_api.api_support import stamp

ALICE = RequestContext.build("alice", "tenant-a", ["member"])
ADMIN = RequestContext.build("admin", "admin", ["admin"])
DATA = os.urandom(3 * 65536 + 123)


class Notes:
    def __init__(self):
        self.events = []

    def image_event(self, ctx, event_type, image):
        self.events.append((event_type, image["status"]))


class TaskRegistry(FakeRegistry):
    """The fake registry with the task calls the importer makes."""

    def __init__(self):
        super().__init__()
        self.tasks: dict[str, dict] = {}

    def create_task(self, ctx, task):
        task = dict(task, id=str(uuid.uuid4()), status="pending", updated_at=stamp())
        self.tasks[task["id"]] = task
        return copy.deepcopy(task)

    def get_task(self, ctx, task_id):
        if task_id not in self.tasks:
            raise registry_client.NotFound("no task")
        return copy.deepcopy(self.tasks[task_id])

    def update_task(self, ctx, task_id, changes, from_status=None):
        task = self.tasks[task_id]
        if from_status is not None and task["status"] != from_status:
            raise registry_client.Conflict("task is %s" % task["status"])
        task.update(changes, updated_at=stamp())
        return copy.deepcopy(task)

    def list_tasks(self, ctx, params):
        return [copy.deepcopy(task) for task in self.tasks.values()
                if all(task.get(key) == params[key] for key in ("status", "type")
                       if key in params)]


class FullStore:
    """Stores whose ``full`` store takes some bytes, then finds its disk full."""

    def __init__(self, real, full):
        self.real, self.full = real, full

    def add(self, image_id, stream, store=None, **kwargs):
        if store == self.full:
            stream.read(1000)
            raise store_exc.StorageFull("There is not enough disk space left")
        return self.real.add(image_id, stream, store=store, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


class FakeWeb:
    """A web source: serves ``data``, or dies after ``good`` bytes."""

    def __init__(self, data: bytes, good: int | None = None):
        self.data, self.good = data, good
        self.opened = []

    def check(self, uri):
        pass

    def open(self, uri):
        self.opened.append(uri)

        def chunks():
            sent = self.data if self.good is None else self.data[:self.good]
            for i in range(0, len(sent), 65536):
                yield sent[i:i + 65536]
            if self.good is not None:
                raise store_exc.RemoteServiceUnavailable("the source went away")

        return ImageData(chunks(), len(self.data))


@pytest.fixture
def dirs(tmp_path):
    found = {}
    for name in ("fast", "cheap", "staging"):
        found[name] = tmp_path / name
        found[name].mkdir()
    return found


@pytest.fixture
def registry():
    return TaskRegistry()


@pytest.fixture
def stores(dirs):
    return glance_store.Stores({"fast": FilesystemDriver([(str(dirs["fast"]), 0)]),
                                "cheap": FilesystemDriver([(str(dirs["cheap"]), 0)])},
                               default_store="fast", multistore=True)


@pytest.fixture
def area(dirs):
    return StagingArea(FilesystemDriver([(str(dirs["staging"]), 0)]))


def make_importer(registry, stores, area, web=None):
    uploader = Uploader(registry, stores, Notes(), storage_quota=0, size_cap=1 << 40,
                        heartbeat_interval=3600.0)
    return Importer(uploader, area, web or FakeWeb(DATA), workers=2)


@pytest.fixture
def importer(registry, stores, area):
    made = make_importer(registry, stores, area)
    yield made
    made.stop()


def files(path):
    return sorted(p.name for p in path.iterdir())


def run(importer, image, request, ctx=ALICE):
    job = importer.begin(ctx, image, request)
    assert job.done.wait(30)
    return importer.registry.images[image["id"]], importer.registry.tasks.get(job.task_id)


def staged(registry, importer, data=DATA, **fields):
    image = registry.add(owner="tenant-a", **fields)
    stage(importer.uploader, importer.staging, ALICE, image, io.BytesIO(data), len(data))
    return copy.deepcopy(registry.images[image["id"]])


def test_a_stage_puts_the_bytes_aside_and_the_image_in_uploading_with_its_size(
        registry, importer, dirs):
    image = staged(registry, importer)
    assert (image["status"], image["size"], image["checksum"]) == ("uploading", len(DATA),
                                                                    None)
    assert (dirs["staging"] / image["id"]).read_bytes() == DATA


def test_a_stage_that_fails_midway_queues_the_image_again_and_stages_nothing(
        registry, importer, dirs):
    image = registry.add(owner="tenant-a")

    class Dies:
        def __init__(self):
            self.sent = 0

        def read(self, size=-1):
            self.sent += 1
            if self.sent > 2:
                raise ConnectionResetError("peer went away")
            return DATA[:1000]

    with pytest.raises(ConnectionResetError):
        stage(importer.uploader, importer.staging, ALICE, image, Dies(), None)
    assert registry.images[image["id"]]["status"] == "queued"
    assert files(dirs["staging"]) == []


def test_glance_direct_into_two_stores_activates_and_drops_the_staged_data(
        registry, importer, dirs):
    image = staged(registry, importer)
    after, task = run(importer, image, ImportRequest("glance-direct", ("fast", "cheap")))
    assert after["status"] == "active"
    assert after["os_hash_value"] and after["checksum"] and after["size"] == len(DATA)
    assert [loc["metadata"]["store"] for loc in after["locations"]] == ["fast", "cheap"]
    assert (after["properties"][progress.IMPORTING_TO],
            after["properties"][progress.FAILED_IMPORT]) == ("", "")
    assert after["properties"][progress.IMPORT_TASK] == task["id"]
    assert (dirs["fast"] / image["id"]).read_bytes() == DATA
    assert (dirs["cheap"] / image["id"]).read_bytes() == DATA
    assert files(dirs["staging"]) == []
    assert task["status"] == "success" and task["result"] == {"image_id": image["id"]}
    assert task["input"]["import_req"]["method"]["name"] == "glance-direct"


def test_a_hostile_staged_image_never_becomes_active(registry, importer, dirs):
    image = staged(registry, importer, data=DATA, disk_format="qcow2")
    after, task = run(importer, image, ImportRequest("glance-direct", ("fast",)))
    assert after["status"] == "queued"
    assert (after["size"], after["checksum"], after["locations"]) == (None, None, [])
    assert after["properties"][progress.FAILED_IMPORT] == "fast"
    assert files(dirs["fast"]) == files(dirs["staging"]) == []
    assert task["status"] == "failure" and "does not match" in task["message"]


def test_a_real_qcow2_staged_image_imports_with_its_virtual_size(registry, importer):
    data = qcow2(virtual_size=1 << 20)
    image = staged(registry, importer, data=data, disk_format="qcow2")
    after, _ = run(importer, image, ImportRequest("glance-direct", ("fast",)))
    assert (after["status"], after["virtual_size"]) == ("active", 1 << 20)


def test_a_full_target_store_sends_glance_direct_back_to_uploading_for_a_retry(
        registry, importer, dirs):
    importer.uploader.stores = FullStore(importer.uploader.stores, "cheap")
    image = staged(registry, importer)
    after, task = run(importer, image, ImportRequest("glance-direct", ("fast", "cheap")))
    assert after["status"] == "uploading" and after["size"] == len(DATA)
    assert after["locations"] == [] and after["checksum"] is None
    assert after["properties"][progress.FAILED_IMPORT] == "fast,cheap"
    assert files(dirs["fast"]) == files(dirs["cheap"]) == []  # fast's copy removed too
    assert files(dirs["staging"]) == [image["id"]]
    assert task["status"] == "failure"
    importer.uploader.stores = importer.uploader.stores.real
    after, task = run(importer, after, ImportRequest("glance-direct", ("fast", "cheap")))
    assert after["status"] == "active" and task["status"] == "success"


def test_stores_that_succeeded_stay_when_not_all_must(registry, importer, dirs):
    importer.uploader.stores = FullStore(importer.uploader.stores, "fast")
    image = staged(registry, importer)
    after, task = run(importer, image, ImportRequest(
        "glance-direct", ("fast", "cheap"), all_stores_must_succeed=False))
    assert after["status"] == "active"
    assert [loc["metadata"]["store"] for loc in after["locations"]] == ["cheap"]
    assert after["properties"][progress.FAILED_IMPORT] == "fast"
    assert files(dirs["fast"]) == [] and files(dirs["cheap"]) == [image["id"]]
    assert task["status"] == "success"


def test_web_download_stages_then_stores(registry, stores, area, dirs):
    importer = make_importer(registry, stores, area, FakeWeb(DATA))
    image = registry.add(owner="tenant-a")
    after, task = run(importer, image, ImportRequest("web-download", ("fast",),
                                                     uri="http://example.com/x"))
    assert after["status"] == "active" and after["size"] == len(DATA)
    assert files(dirs["staging"]) == []
    assert importer.web.opened == ["http://example.com/x"]
    importer.stop()


def test_a_web_source_that_dies_midway_leaves_the_image_queued_and_no_bytes(
        registry, stores, area, dirs):
    importer = make_importer(registry, stores, area, FakeWeb(DATA, good=70000))
    image = registry.add(owner="tenant-a")
    after, task = run(importer, image, ImportRequest("web-download", ("fast", "cheap"),
                                                     uri="http://example.com/x"))
    assert after["status"] == "queued"
    assert after["properties"][progress.FAILED_IMPORT] == "fast,cheap"
    assert after["properties"][progress.IMPORTING_TO] == ""
    assert files(dirs["staging"]) == files(dirs["fast"]) == files(dirs["cheap"]) == []
    assert task["status"] == "failure" and "went away" in task["message"]
    importer.stop()


def active_in_fast(registry, importer):
    image = staged(registry, importer)
    after, _ = run(importer, image, ImportRequest("glance-direct", ("fast",)))
    assert after["status"] == "active"
    return copy.deepcopy(after)


def test_copy_image_keeps_the_image_active_and_adds_a_location(registry, importer, dirs):
    image = active_in_fast(registry, importer)
    after, task = run(importer, image, ImportRequest("copy-image", ("cheap",)), ctx=ADMIN)
    assert after["status"] == "active"
    assert [loc["metadata"]["store"] for loc in after["locations"]] == ["fast", "cheap"]
    assert (dirs["cheap"] / image["id"]).read_bytes() == DATA
    assert task["status"] == "success"


def test_a_failed_copy_keeps_the_image_as_it_was_and_leaves_no_copy(
        registry, importer, dirs):
    image = active_in_fast(registry, importer)
    importer.uploader.stores = FullStore(importer.uploader.stores, "cheap")
    after, task = run(importer, image, ImportRequest("copy-image", ("cheap",)), ctx=ADMIN)
    assert after["status"] == "active"
    assert [loc["metadata"]["store"] for loc in after["locations"]] == ["fast"]
    assert after["properties"][progress.FAILED_IMPORT] == "cheap"
    assert files(dirs["cheap"]) == []
    assert task["status"] == "failure"


def test_an_image_deleted_mid_import_keeps_no_bytes(registry, importer, dirs):
    image = staged(registry, importer)
    real_update = registry.update

    def update(ctx, image_id, changes, **kw):
        if "locations" in changes and changes.get("status") != "queued":
            registry.images[image_id]["deleted"] = True
        return real_update(ctx, image_id, changes, **kw)

    registry.update = update
    _, task = run(importer, image, ImportRequest("glance-direct", ("fast",)))
    assert files(dirs["fast"]) == []
    assert task["status"] == "failure"


# The sweep

LATER = timestamps.utcnow() + datetime.timedelta(days=1)


def test_the_sweep_returns_a_dead_import_to_queued_and_removes_what_it_wrote(
        registry, stores, area, dirs):
    image = registry.add(owner="tenant-a", status="importing", updated_at=stamp())
    area.add(image["id"], io.BytesIO(DATA))
    written = stores.add(image["id"], io.BytesIO(DATA), store="fast")
    task = registry.create_task(ALICE, {"input": {"import_req": {
        "method": {"name": "web-download"}}}})
    registry.update_task(ALICE, task["id"], {"status": "processing"})
    registry.images[image["id"]].update(
        locations=[{"url": written.location, "metadata": {"store": "fast"}}],
        properties={progress.IMPORT_TASK: task["id"], progress.IMPORTING_TO: "cheap",
                    progress.FAILED_IMPORT: ""})
    swept = sweep_once(registry, stores, 1, now=LATER, staging=area)
    after = registry.images[image["id"]]
    assert swept == [image["id"]]
    assert (after["status"], after["locations"]) == ("queued", [])
    assert after["properties"][progress.IMPORTING_TO] == ""
    assert after["properties"][progress.FAILED_IMPORT] == "cheap"
    assert files(dirs["fast"]) == files(dirs["staging"]) == []
    assert registry.tasks[task["id"]]["status"] == "failure"


def test_the_sweep_returns_a_dead_glance_direct_import_to_uploading_with_its_data(
        registry, stores, area, dirs):
    image = registry.add(owner="tenant-a", status="importing", size=len(DATA))
    area.add(image["id"], io.BytesIO(DATA))
    task = registry.create_task(ALICE, {"input": {"import_req": {
        "method": {"name": "glance-direct"}}}})
    registry.images[image["id"]]["properties"] = {progress.IMPORT_TASK: task["id"]}
    sweep_once(registry, stores, 1, now=LATER, staging=area)
    after = registry.images[image["id"]]
    assert (after["status"], after["size"]) == ("uploading", len(DATA))
    assert files(dirs["staging"]) == [image["id"]]


def test_the_sweep_queues_a_dead_stage_and_leaves_a_finished_one(registry, stores, area,
                                                                 dirs):
    dead = registry.add(owner="tenant-a", status="uploading")
    done = registry.add(owner="tenant-a", status="uploading", size=len(DATA))
    area.add(done["id"], io.BytesIO(DATA))
    assert sweep_once(registry, stores, 1, now=LATER, staging=area) == [dead["id"]]
    assert registry.images[dead["id"]]["status"] == "queued"
    assert registry.images[done["id"]]["status"] == "uploading"
    assert files(dirs["staging"]) == [done["id"]]


def test_the_sweep_sends_v2_uploads_back_to_queued_and_kills_v1_ones(registry, stores):
    v2 = registry.add(owner="tenant-a", status="saving", size=5,
                      properties={UPLOAD_API_PROPERTY: "v2"})
    v1 = registry.add(owner="tenant-a", status="saving", size=5)
    sweep_once(registry, stores, 1, now=LATER)
    assert registry.images[v2["id"]]["status"] == "queued"
    assert registry.images[v2["id"]]["size"] is None
    assert UPLOAD_API_PROPERTY not in registry.images[v2["id"]]["properties"]
    assert registry.images[v1["id"]]["status"] == "killed"


def test_a_v2_upload_is_marked_while_saving_and_unmarked_when_done(registry, stores):
    uploader = Uploader(registry, stores, Notes(), storage_quota=0, size_cap=1 << 40,
                        heartbeat_interval=3600.0)
    image = registry.add(owner="tenant-a")
    active = uploader.upload(ALICE, image, io.BytesIO(DATA), on_failure=REQUEUE)
    saving = [c for m, c in registry.calls if m == "update" and c.get("status") == "saving"]
    assert saving[0]["properties"] == {UPLOAD_API_PROPERTY: "v2"}
    assert UPLOAD_API_PROPERTY not in active["properties"]


def test_a_legacy_import_task_downloads_into_a_new_image(registry, stores, area, dirs):
    importer = make_importer(registry, stores, area, FakeWeb(DATA))
    task = registry.create_task(ADMIN, {"type": "import", "input": {
        "import_from": "http://example.com/disk", "import_from_format": "raw",
        "image_properties": {"name": "legacy", "container_format": "bare",
                             "os_distro": "cirros"}}})
    job = importer.run_legacy_task(ADMIN, task)
    assert job.done.wait(30)
    image = registry.images[job.image_id]
    assert (image["status"], image["name"], image["disk_format"]) == ("active", "legacy",
                                                                      "raw")
    assert image["properties"]["os_distro"] == "cirros"
    assert (dirs["fast"] / image["id"]).read_bytes() == DATA
    done = registry.tasks[task["id"]]
    assert (done["status"], done["image_id"]) == ("success", image["id"])
    importer.stop()


def test_the_sweep_removes_staged_data_no_image_waits_for(registry, stores, area, dirs):
    waiting = registry.add(owner="tenant-a", status="uploading", size=len(DATA))
    deleted = registry.add(owner="tenant-a", status="uploading", size=len(DATA))
    active = registry.add(owner="tenant-a", status="active", size=len(DATA))
    for image in (waiting, deleted, active):
        area.add(image["id"], io.BytesIO(DATA))
    registry.images[deleted["id"]]["deleted"] = True
    sweep_once(registry, stores, 1, now=LATER, staging=area)
    assert files(dirs["staging"]) == [waiting["id"]]
    # Data staged just now is left alone, whatever its image says.
    area.add(active["id"], io.BytesIO(DATA))
    sweep_once(registry, stores, 1, staging=area)
    assert files(dirs["staging"]) == sorted([waiting["id"], active["id"]])


def test_the_remote_glance_is_found_in_either_catalog_shape():
    v2 = [{"type": "compute", "endpoints": [{"region": "R2", "publicURL": "http://nova"}]},
          {"type": "image", "endpoints": [
              {"region": "R1", "publicURL": "http://one", "internalURL": "http://one-i"},
              {"region": "R2", "publicURL": "http://two", "internalURL": "http://two-i"}]}]
    v3 = [{"type": "image", "endpoints": [
        {"region_id": "R2", "interface": "internal", "url": "http://two-i"},
        {"region_id": "R2", "interface": "public", "url": "http://two"}]}]
    assert catalog_endpoint(v2, "R2", "public") == "http://two"
    assert catalog_endpoint(v2, "R2", "internal") == "http://two-i"
    assert catalog_endpoint(v3, "R2", "public") == "http://two"
    assert catalog_endpoint(v2, "R3", "public") is None
    assert catalog_endpoint([{"type": "image", "endpoints": ["junk", None]}, "junk"],
                            "R2", "public") is None


def test_the_sweep_ends_a_dead_copy_and_removes_its_partial_copy(
        registry, stores, area, importer, dirs):
    image = active_in_fast(registry, importer)
    # A copy into cheap whose api died mid-way: a partial file, a task still
    # processing, and the image's heartbeat long stopped.
    partial = dirs["cheap"] / (".%s.dead.part" % image["id"])
    partial.write_bytes(DATA[:100])
    task = registry.create_task(ADMIN, {
        "type": "api_image_import", "image_id": image["id"],
        "input": {"import_req": {"method": {"name": "copy-image"}}}})
    registry.update_task(ADMIN, task["id"], {"status": "processing"})
    registry.images[image["id"]]["properties"].update({
        progress.IMPORT_TASK: task["id"], progress.IMPORTING_TO: "cheap",
        progress.FAILED_IMPORT: ""})
    # A live copy (heartbeat after the stale mark) is left alone.
    assert sweep_once(registry, stores, 1, staging=area,
                      now=datetime.datetime(2023, 1, 1)) == []
    assert partial.exists()

    assert sweep_once(registry, stores, 1, now=LATER, staging=area) == [image["id"]]

    after = registry.images[image["id"]]
    assert after["status"] == "active"
    assert [loc["metadata"]["store"] for loc in after["locations"]] == ["fast"]
    assert after["properties"][progress.IMPORTING_TO] == ""
    assert after["properties"][progress.FAILED_IMPORT] == "cheap"
    assert not partial.exists() and files(dirs["fast"]) == [image["id"]]
    assert registry.tasks[task["id"]]["status"] == "failure"


# Import tasks no live api runs. OLD is before the sweep's grace, NEW after it.

OLD, NEW = "2020-01-01T00:00:00.000000", "2030-01-01T00:00:00.000000"
NOW = datetime.datetime(2025, 1, 1)


def orphan(registry, method="glance-direct", status="pending", image=None, **fields):
    """A task last changed long ago, as an api that died left it."""
    task = registry.create_task(ADMIN, dict({
        "type": "api_image_import", "image_id": image and image["id"],
        "input": {"import_req": {"method": {"name": method}}}}, **fields))
    registry.tasks[task["id"]].update(status=status, updated_at=OLD)
    return registry.tasks[task["id"]]


def test_the_sweep_fails_a_pending_import_whose_api_died_before_it_began(
        registry, stores, area, dirs):
    image = registry.add(owner="tenant-a", status="uploading", size=len(DATA),
                         updated_at=OLD)
    area.add(image["id"], io.BytesIO(DATA))
    task = orphan(registry, image=image)
    assert sweep_once(registry, stores, 1, now=NOW, staging=area) == [image["id"]]
    assert task["status"] == "failure"
    assert task["message"] == ("The api that accepted this import stopped before it "
                               "began; its image is uploading.")
    # Staged whole, the image still waits for an import, which may be asked again.
    assert registry.images[image["id"]]["status"] == "uploading"
    assert files(dirs["staging"]) == [image["id"]]


def test_the_sweep_fails_pending_tasks_without_an_image(registry, stores, area):
    legacy = orphan(registry, type="import")
    gone = registry.add(owner="tenant-a", updated_at=OLD)
    deleted = orphan(registry, image=gone)
    registry.images[gone["id"]]["deleted"] = True
    assert sweep_once(registry, stores, 1, now=NOW, staging=area) == []
    for task in (legacy, deleted):
        assert task["status"] == "failure"
    assert deleted["message"].endswith("before it began; its image is gone.")


def test_the_sweep_ends_a_copy_that_waited_in_a_dead_apis_pool(
        registry, stores, area, importer, dirs):
    image = active_in_fast(registry, importer)
    registry.images[image["id"]].update(updated_at=OLD)
    task = orphan(registry, method="copy-image", image=image)
    registry.images[image["id"]]["properties"].update(
        progress.started(task["id"], ["cheap"]))
    assert sweep_once(registry, stores, 1, now=NOW, staging=area) == [image["id"]]
    after = registry.images[image["id"]]
    assert after["status"] == "active"
    assert after["properties"][progress.IMPORTING_TO] == ""
    assert after["properties"][progress.FAILED_IMPORT] == "cheap"
    assert files(dirs["fast"]) == [image["id"]] and files(dirs["cheap"]) == []
    assert (task["status"], task["message"]) == (
        "failure", "The api that accepted this import stopped before it began; its "
                   "partial copies were removed.")


def test_an_import_whose_image_went_active_but_whose_task_was_not_told_succeeds(
        registry, stores, area):
    image = registry.add(owner="tenant-a", status="active", updated_at=OLD)
    task = orphan(registry, status="processing", image=image)
    registry.images[image["id"]]["properties"] = progress.started(task["id"], [])
    sweep_once(registry, stores, 1, now=NOW, staging=area)
    assert (task["status"], task["result"]) == ("success", {"image_id": image["id"]})


def test_the_sweep_leaves_tasks_an_api_still_holds(registry, stores, area):
    beating = registry.add(owner="tenant-a", status="active", updated_at=NEW)
    waiting = orphan(registry, method="copy-image", image=beating)
    running = orphan(registry, status="processing", image=beating)
    just_made = orphan(registry)  # the api is about to move its image
    just_made["updated_at"] = NEW
    other = orphan(registry, type="location_import")
    assert sweep_once(registry, stores, 1, now=NOW, staging=area) == []
    assert [t["status"] for t in (waiting, running, just_made, other)] == [
        "pending", "processing", "pending", "pending"]
