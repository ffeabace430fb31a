"""Fixtures for glance-api's unit tests: a config file, a stand-in Keystone, the
fake registry, a real file store and a test client over them."""

from __future__ import annotations

import pytest
import responses

from glance_api.app import create_app
from glance_api.cmd import parse_config
from tests.keystone_mock import FakeKeystone
from tests.keystone_mock import authtoken_section
from tests.keystone_mock import write_conf
from tests.unit.glance_api.api_support import FakeRegistry
from tests.unit.glance_api.api_support import file_stores


@pytest.fixture
def keystone():
    """The stand-in Keystone; every other HTTP call is refused."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeKeystone(mock)


@pytest.fixture
def make_conf(tmp_path):
    """glance-api options read from a glance-api.conf written for the test."""

    def _make(default=None, **sections):
        values = {"auth_strategy": "keystone", "registry_port": 8}
        values.update(default or {})
        all_sections = {"DEFAULT": values,
                        "glance_store": {"filesystem_store_datadir": tmp_path / "images"},
                        "keystone_authtoken": authtoken_section()}
        all_sections.update(sections)
        path = write_conf(tmp_path / "glance-api.conf", all_sections)
        return parse_config(["--config-file", str(path)])

    return _make


@pytest.fixture
def registry():
    """The in-memory registry with compare-and-set semantics."""
    return FakeRegistry()


@pytest.fixture
def datadir(tmp_path):
    """A file store's data directory, empty."""
    path = tmp_path / "images"
    path.mkdir()
    return path


@pytest.fixture
def client(make_conf, registry, keystone, datadir):
    """Flask's test client of an api on ``registry`` and a real file store, under Keystone."""
    app = create_app(make_conf(), registry=registry, stores=file_stores(datadir))
    return app.test_client()
