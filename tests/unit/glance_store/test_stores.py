"""Stores: built from config, dispatching by store name and by scheme."""

from __future__ import annotations

import dataclasses

import pytest
from oslo_config import cfg

import glance_store
from glance_store import Capability
from glance_store import Driver
from glance_store import Stored
from glance_store import Stores
from glance_store import exceptions


@pytest.fixture
def conf(tmp_path):
    conf = cfg.ConfigOpts()
    glance_store.register_opts(conf)
    conf([])
    conf.set_override("filesystem_store_datadir", str(tmp_path / "images"),
                      "glance_store")
    return conf


@pytest.fixture
def stores(conf):
    return Stores.from_conf(conf)


def test_the_defaults_configure_file_and_http_writing_to_file(stores,
                                                              tmp_path):
    assert stores.store_names == ("file", "http")
    assert stores.default_store == "file"
    assert (tmp_path / "images").is_dir()


def test_locations_dispatch_by_scheme(stores):
    assert stores.driver_for("file:///x").name == "file"
    assert stores.driver_for("HTTPS://example.com/x").name == "http"
    with pytest.raises(exceptions.UnknownScheme, match="swift"):
        stores.driver_for("swift://account/container/obj")
    with pytest.raises(exceptions.BadStoreURI):
        stores.get("not a uri")


def test_an_unconfigured_scheme_is_unknown(conf):
    conf.set_override("stores", ["file"], "glance_store")
    stores = Stores.from_conf(conf)

    with pytest.raises(exceptions.UnknownScheme):
        stores.get_size("http://example.com/image")


def test_adding_to_a_read_only_or_unknown_store_fails(stores, source):
    with pytest.raises(exceptions.ReadOnlyStore):
        stores.add("img", source(b"data"), store="http")
    with pytest.raises(exceptions.UnknownStore, match="swift"):
        stores.add("img", source(b"data"), store="swift")


def test_deleting_a_remote_location_is_refused(stores):
    with pytest.raises(exceptions.ReadOnlyStore):
        stores.delete("http://example.com/image")


def test_add_returns_a_frozen_named_result(stores, source):
    result = stores.add("img", source(b"data"), size=4)

    assert result.store == "file"
    assert result.location.startswith("file://")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.size = 5


@pytest.mark.parametrize("overrides, message", [
    ({"stores": ["file", "rbd"]}, "unknown store 'rbd'"),
    ({"default_store": "swift"}, "not one of the configured"),
    ({"stores": ["http"], "default_store": "http"}, "read-only"),
])
def test_a_configuration_that_cannot_work_fails_at_start_up(
        conf, overrides, message):
    for name, value in overrides.items():
        conf.set_override(name, value, "glance_store")

    with pytest.raises(exceptions.BadStoreConfiguration, match=message):
        Stores.from_conf(conf)


def test_an_unknown_hashing_algorithm_fails_at_start_up(conf):
    with pytest.raises(exceptions.BadStoreConfiguration, match="sha999"):
        Stores.from_conf(conf, hashing_algorithm="sha999")


def test_check_url_applies_import_filtering_opts(conf):
    conf.set_override("allowed_ports", [80, 443, 8080],
                      "import_filtering_opts")
    conf.set_override("allowed_hosts", ["127.0.0.1"],
                      "import_filtering_opts")
    stores = Stores.from_conf(conf)

    assert stores.check_url("http://127.0.0.1:8080/x").port == 8080
    with pytest.raises(exceptions.URLNotAllowed, match="port"):
        stores.check_url("http://127.0.0.1:8081/x")
    with pytest.raises(exceptions.URLNotAllowed, match="host"):
        stores.check_url("http://10.0.0.1/x")


def test_check_url_refuses_loopback_by_default(stores):
    with pytest.raises(exceptions.URLNotAllowed, match="loopback"):
        stores.check_url("http://127.0.0.1/image")


def test_images_are_read_through_the_http_store(conf, image_server):
    image_server.images["remote"] = b"remote bytes"
    conf.set_override("allowed_hosts", ["127.0.0.1"], "import_filtering_opts")
    conf.set_override("allowed_ports", [image_server.port],
                      "import_filtering_opts")
    stores = Stores.from_conf(conf)
    url = image_server.url("/images/remote")

    assert stores.get_size(url) == 12
    with stores.get(url, offset=7) as data:
        assert data.fileobj is None
        assert b"".join(data) == b"bytes"


class LazyDriver(Driver):
    """A broken driver that stops reading after the first chunk."""

    name = "lazy"
    schemes = ("lazy",)
    capabilities = Capability.READ | Capability.WRITE

    def __init__(self):
        self.deleted = []

    def add(self, image_id, reader):
        next(iter(reader))
        return Stored(location=f"lazy://{image_id}")

    def delete(self, location):
        self.deleted.append(location)


def test_a_driver_that_stops_reading_early_is_caught_and_cleaned_up(source):
    driver = LazyDriver()
    stores = Stores({"lazy": driver}, default_store="lazy")

    with pytest.raises(exceptions.GlanceStoreError, match="before reading"):
        stores.add("img", source(b"x" * 3 * glance_store.CHUNK_SIZE))

    assert driver.deleted == ["lazy://img"]


def test_two_drivers_claiming_one_scheme_is_a_configuration_error(
        file_driver):
    class Other(LazyDriver):
        name = "other"
        schemes = ("file",)

    with pytest.raises(exceptions.BadStoreConfiguration, match="file://"):
        Stores({"file": file_driver, "other": Other()}, default_store="file")


def test_discard_partial_sweeps_every_writable_store(stores, tmp_path):
    (tmp_path / "images" / ".img.00ff.part").write_bytes(b"partial")

    assert stores.discard_partial("img") == 1
    assert list((tmp_path / "images").iterdir()) == []
