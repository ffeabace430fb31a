"""The orphan scan over Swift: a real cluster's container, a registry with the
images' records, and each kind of object the api writes there."""

from __future__ import annotations

import io
import uuid

import pytest

import glance_store
from glance_api.imports import progress
from glance_api.scrubber import orphans
from glance_common.context import RequestContext
from glance_store.driver import Capability
from glance_store.driver import Driver
from glance_store.drivers.swift import SwiftDriver

ADMIN = RequestContext.build("admin", "admin", ["admin"])
MiB = 1024 * 1024


class Unlisted(Driver):
    """A store that cannot be listed (as S3 is to the scan)."""

    name = "s3"
    schemes = ("s3",)
    capabilities = Capability.READ | Capability.WRITE


@pytest.fixture
def container(swift_cluster):
    name = "orphans-%s" % uuid.uuid4().hex[:12]
    swift_cluster.connection().put_container(name)
    return name


@pytest.fixture
def stores(swift_cluster, container):
    swift = SwiftDriver(auth_address=swift_cluster.auth_url, user=swift_cluster.user,
                        key=swift_cluster.key, container=container,
                        large_object_size=MiB, chunk_size=MiB)
    return glance_store.Stores({"swift": swift, "s3": Unlisted()},
                               default_store="swift")


def plant(swift_cluster, container, *names):
    conn = swift_cluster.connection()
    for name in names:
        conn.put_object(container, name, b"x" * 7)


def scan(registry, stores):
    report = orphans.find(registry, ADMIN, stores)
    return report, sorted(o.path.rpartition("/")[2] for o in report.orphans)


def test_segments_of_a_failed_upload_and_unrecorded_objects_are_orphans(
        registry, stores, swift_cluster, container):
    killed = registry.add(status="killed")
    queued = registry.add(status="queued")
    gone = str(uuid.uuid4())   # the registry never heard of it
    plant(swift_cluster, container, killed["id"] + "-00001", killed["id"] + "-00002",
          queued["id"] + "-00001", gone)

    report, found = scan(registry, stores)

    assert found == sorted([killed["id"] + "-00001", killed["id"] + "-00002",
                            queued["id"] + "-00001", gone])
    assert report.unchecked == ["s3"]
    assert {o.store for o in report.orphans} == {"swift"}
    assert {o.size for o in report.orphans} == {7}
    reasons = {o.path.rpartition("/")[2]: o.reason for o in report.orphans}
    assert "which is killed" in reasons[killed["id"] + "-00001"]
    assert "unknown" in reasons[gone]


def test_an_images_data_and_what_uploads_in_flight_write_are_not_orphans(
        registry, stores, swift_cluster, container):
    data = b"y" * (2 * MiB + 1)
    stored = stores.add(str(uuid.uuid4()), io.BytesIO(data), size=len(data))  # segmented
    active = registry.add(id=stored.location.rpartition("/")[2], status="active",
                          locations=[{"url": stored.location, "metadata": {}}])
    saving = registry.add(status="saving")
    importing = registry.add(status="importing")
    copying = registry.add(status="active",
                           properties={progress.IMPORTING_TO: "swift"})
    committing = registry.add(status="queued")  # its object written, its record next
    plant(swift_cluster, container, saving["id"] + "-00001",
          importing["id"] + "-00001", copying["id"] + "-00001", committing["id"],
          "backup-of-something", "notes.txt")

    report, found = scan(registry, stores)

    assert found == []
    assert sorted(p.rpartition("/")[2] for p in report.ignored) == [
        "backup-of-something", "notes.txt"]
    assert active["id"] + "-00003" in swift_cluster.list_container(container)


def test_a_location_in_another_container_does_not_protect_an_object(
        registry, stores, swift_cluster, container):
    image_id = str(uuid.uuid4())
    elsewhere = "swift+http://%s/other-container/%s" % (
        swift_cluster.auth_url.split("://", 1)[1], image_id)
    registry.add(id=image_id, status="active",
                 locations=[{"url": elsewhere, "metadata": {}}])
    plant(swift_cluster, container, image_id)

    _, found = scan(registry, stores)

    assert found == [image_id]


def test_only_what_is_listed_is_removed_and_segments_go_with_their_manifest(
        registry, stores, swift_cluster, container):
    killed = registry.add(status="killed")
    keep = registry.add(status="saving")
    plant(swift_cluster, container, killed["id"] + "-00001", keep["id"] + "-00001",
          "notes.txt")
    report = orphans.find(registry, ADMIN, stores)

    removed = orphans.remove(report.orphans, stores)

    assert [p.rpartition("/")[2] for p in removed] == [killed["id"] + "-00001"]
    assert swift_cluster.list_container(container) == sorted(
        [keep["id"] + "-00001", "notes.txt"])
    # Removed meanwhile by someone else: not an error, not reported removed.
    assert orphans.remove(report.orphans, stores) == []
