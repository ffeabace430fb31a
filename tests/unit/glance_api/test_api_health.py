"""The api's health check names what is broken: the registry or the store."""

from __future__ import annotations

import shutil

import glance_store
from glance_api import health
from glance_common.context import RequestContext

ANON = RequestContext.build(None, None, [])


class Registry:
    def __init__(self, up=True):
        self.up = up
        self.asked = []

    def healthy(self, ctx):
        self.asked.append(ctx)
        return self.up


def _stores(datadir):
    from glance_store.drivers.filesystem import FilesystemDriver
    return glance_store.Stores({"file": FilesystemDriver([(str(datadir), 0)])},
                               default_store="file")


def test_all_well_is_200(tmp_path):
    registry = Registry()
    code, text = health.report(registry, _stores(tmp_path), ANON)
    assert code == 200
    assert text.splitlines() == ["OK", "registry: ok", "store file: ok"]
    assert registry.asked == [ANON]
    assert list(tmp_path.iterdir()) == []  # the write probe left nothing behind


def test_a_registry_down_is_503_naming_it(tmp_path):
    code, text = health.report(Registry(up=False), _stores(tmp_path), ANON)
    assert code == 503
    assert text.startswith("UNHEALTHY: registry\n")


def test_a_missing_datadir_is_503_naming_the_store(tmp_path):
    datadir = tmp_path / "images"
    datadir.mkdir()
    stores = _stores(datadir)
    shutil.rmtree(datadir)
    code, text = health.report(Registry(), stores, ANON)
    assert code == 503
    assert text.startswith("UNHEALTHY: store file\n")
    assert "%s is missing" % datadir in text


def test_a_remote_store_is_reported_not_probed():
    class Remote(glance_store.Driver):
        name = "swift"
        capabilities = glance_store.Capability.READ | glance_store.Capability.WRITE

    stores = glance_store.Stores({"swift": Remote()}, default_store="swift")
    code, text = health.report(Registry(), stores, ANON)
    assert code == 200
    assert "store swift: not probed" in text
