"""Multi-store configuration ([DEFAULT] enabled_backends) and dispatch among
several stores of one type."""

from __future__ import annotations

import textwrap

import pytest
from oslo_config import cfg

import glance_store
from glance_store import Stores
from glance_store import exceptions
from glance_store.drivers.swift import SwiftDriver


def load(tmp_path, text: str) -> cfg.ConfigOpts:
    """A parsed config holding ``text`` (directories under tmp_path as {tmp})."""
    path = tmp_path / "glance-api.conf"
    path.write_text(textwrap.dedent(text).format(tmp=tmp_path))
    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    conf(["--config-file", str(path)])
    return conf


TWO_FILE_STORES = """
    [DEFAULT]
    enabled_backends = fast:file, cheap:file, web:http
    [glance_store]
    default_backend = cheap
    [fast]
    filesystem_store_datadir = {tmp}/fast
    store_description = Fast disks
    weight = 100
    [cheap]
    filesystem_store_datadir = {tmp}/cheap
    [os_glance_staging_store]
    filesystem_store_datadir = {tmp}/staging
    [os_glance_tasks_store]
    filesystem_store_datadir = {tmp}/tasks
"""


@pytest.fixture
def stores(tmp_path):
    return Stores.from_conf(load(tmp_path, TWO_FILE_STORES))


def test_backends_are_listed_in_config_order_with_their_default(stores):
    assert stores.multistore is True
    assert stores.store_names == ("fast", "cheap", "web")
    assert stores.default_store == "cheap"
    assert stores.weight("fast") == 100 and stores.weight("cheap") == 0


def test_describe_gives_type_description_weight_and_safe_properties(stores, tmp_path):
    described = {info.id: info for info in stores.describe()}

    assert list(described) == ["fast", "cheap", "web"]
    fast = described["fast"]
    assert (fast.type, fast.description, fast.weight, fast.default) == (
        "file", "Fast disks", 100, False)
    assert fast.properties["data_dir"] == str(tmp_path / "fast")
    assert described["cheap"].default is True
    assert described["web"].type == "http" and described["web"].properties == {}


def test_the_reserved_stores_are_never_listed_nor_written_to(stores, source):
    assert not {"os_glance_staging_store", "os_glance_tasks_store"} & set(
        stores.store_names)
    with pytest.raises(exceptions.UnknownStore):
        stores.add("img", source(b"data"), store="os_glance_staging_store")


def test_uploads_go_to_the_named_store_or_the_default(stores, source, tmp_path):
    chosen = stores.add("img-1", source(b"fast bytes"), store="fast")
    default = stores.add("img-2", source(b"cheap bytes"))

    assert chosen.store == "fast" and (tmp_path / "fast" / "img-1").exists()
    assert default.store == "cheap" and (tmp_path / "cheap" / "img-2").exists()


def test_two_file_stores_share_file_urls_and_each_owns_its_own(stores, source):
    fast = stores.add("img-1", source(b"fast bytes"), store="fast")
    cheap = stores.add("img-2", source(b"cheap bytes"), store="cheap")

    assert stores.driver("fast").owns(fast.location)
    assert not stores.driver("fast").owns(cheap.location)
    assert stores.driver("cheap").owns(cheap.location)
    # Without the location's metadata, the store that owns it answers.
    assert stores.store_for(fast.location) == "fast"
    assert stores.store_for(cheap.location) == "cheap"
    with stores.get(cheap.location) as data:
        assert b"".join(data) == b"cheap bytes"
    assert stores.get_size(fast.location) == 10


def test_the_store_in_a_locations_metadata_is_used(stores, source):
    fast = stores.add("img-1", source(b"fast bytes"), store="fast")

    with stores.get(fast.location, store="fast") as data:
        assert b"".join(data) == b"fast bytes"
    with pytest.raises(exceptions.BadStoreURI):
        stores.get(fast.location, store="cheap")  # not in cheap's directory
    stores.delete(fast.location, store="fast")
    with pytest.raises(exceptions.NotFound):
        stores.get_size(fast.location, store="fast")


def test_a_store_id_no_longer_configured_falls_back_to_the_location(stores, source):
    # Locations written in single-store mode say {"store": "file"}.
    fast = stores.add("img-1", source(b"fast bytes"), store="fast")

    assert stores.store_for(fast.location, store="file") == "fast"
    assert stores.get_size(fast.location, store="file") == 10


def test_a_location_no_store_owns_is_refused(stores, tmp_path):
    with pytest.raises(exceptions.UnknownStore, match="fast, cheap"):
        stores.get(f"file://{tmp_path}/elsewhere/img")


def test_discard_partial_can_be_limited_to_one_store(stores, tmp_path):
    (tmp_path / "fast" / ".img.00ff00ff00ff00ff.part").write_bytes(b"x")
    (tmp_path / "cheap" / ".img.00ff00ff00ff00ff.part").write_bytes(b"x")

    assert stores.discard_partial("img", store="fast") == 1
    assert stores.discard_partial("img") == 1


def test_staging_and_tasks_work_are_their_reserved_file_stores(stores, source, tmp_path):
    assert not (tmp_path / "staging").exists()  # created when first needed
    staged = stores.staging.add("img", glance_store.VerifyingReader(source(b"staged")))

    assert staged.location == f"file://{tmp_path}/staging/img"
    assert stores.tasks_work.datadirs == [(str(tmp_path / "tasks"), 0)]


def test_two_swift_stores_on_one_cluster_own_their_containers():
    def driver(container):
        return SwiftDriver(auth_address="http://127.0.0.1:1/auth/v1.0",
                           user="test:tester", key="testing", container=container)

    images, backups = driver("images"), driver("backups")
    location = "swift+http://127.0.0.1:1/auth/v1.0/backups/img"

    assert backups.owns(location) and not images.owns(location)
    assert not images.owns("swift+http://elsewhere:1/auth/v1.0/images/img")
    assert images.properties()["container"] == "images"
    stores = Stores({"a": images, "b": backups}, default_store="a", multistore=True)
    assert stores.store_for(location) == "b"


@pytest.mark.parametrize("text, message", [
    ("[DEFAULT]\nenabled_backends = fast:rbd\n[glance_store]\ndefault_backend = fast\n",
     "store 'fast' has unknown type 'rbd'"),
    ("[DEFAULT]\nenabled_backends = fast:file\n[glance_store]\ndefault_backend = slow\n"
     "[fast]\nfilesystem_store_datadir = {tmp}/fast\n",
     "default_backend 'slow' is not enabled"),
    ("[DEFAULT]\nenabled_backends = fast:file\n[fast]\n"
     "filesystem_store_datadir = {tmp}/fast\n",
     "default_backend is not set"),
    ("[DEFAULT]\nenabled_backends = os_glance_staging_store:file\n",
     "'os_glance_staging_store' is a reserved store name"),
    ("[DEFAULT]\nenabled_backends = fast:file, fast:swift\n", "Duplicate key fast"),
    ("[DEFAULT]\nenabled_backends = fast\n", "ID:TYPE pairs"),
    ("[DEFAULT]\nenabled_backends = web:http\n[glance_store]\ndefault_backend = web\n",
     "default_backend 'web' is read-only"),
    ("[DEFAULT]\nenabled_backends = far:swift\n[glance_store]\ndefault_backend = far\n",
     r"store 'far' \(\[far\]\): swift_store_auth_address"),
])
def test_a_multistore_configuration_that_cannot_work_fails_clearly(tmp_path, text, message):
    with pytest.raises(exceptions.BadStoreConfiguration, match=message):
        Stores.from_conf(load(tmp_path, text))


def test_without_enabled_backends_the_single_store_config_is_unchanged(tmp_path):
    conf = load(tmp_path, """
        [DEFAULT]
        node_staging_uri = file://{tmp}/staged
        [glance_store]
        filesystem_store_datadir = {tmp}/images
    """)
    stores = Stores.from_conf(conf)

    assert stores.multistore is False
    assert stores.store_names == ("file", "http")
    assert [(i.id, i.type, i.default) for i in stores.describe()] == [
        ("file", "file", True), ("http", "http", False)]
    assert stores.staging.datadirs == [(str(tmp_path / "staged"), 0)]


def test_a_staging_uri_that_is_not_a_file_uri_fails_at_start_up(tmp_path):
    conf = load(tmp_path, "[DEFAULT]\nnode_staging_uri = http://example.com/x\n"
                          "[glance_store]\nfilesystem_store_datadir = {tmp}/i\n")

    with pytest.raises(exceptions.BadStoreConfiguration, match="node_staging_uri"):
        Stores.from_conf(conf)
