"""Fixtures for glance-api's unit tests: a config file, a stand-in Keystone."""

from __future__ import annotations

import pytest
import responses

from glance_api.cmd import parse_config
from tests.keystone_mock import FakeKeystone
from tests.keystone_mock import authtoken_section
from tests.keystone_mock import write_conf


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
