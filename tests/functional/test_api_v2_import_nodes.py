"""glance-direct across two api nodes that do not share a staging directory.

The stage lands on one node and the import on the other, as a load balancer
sends them: the stage records the first node's ``worker_self_reference_url``
(``os_glance_stage_host``) and the second passes the import on to it.
"""

from __future__ import annotations

import configparser
import os
import sys

import pytest
import requests

from tests import daemons
from tests.pairs import ADMIN
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until

DATA = os.urandom(96 * 1024)


class Nodes:
    """Two apis on one registry, each with its own staging directory."""

    def __init__(self, base, db_url):
        ports = daemons.free_port(), daemons.free_port()
        self.urls = ["http://127.0.0.1:%d" % port for port in ports]
        self.pair = Glance(base / "one", db_url, bind_port=ports[0],
                           worker_self_reference_url=self.urls[0])
        sections = configparser.ConfigParser(interpolation=None)
        sections.read(base / "one" / "glance-api.conf")
        second = {name: dict(sections[name]) for name in sections.sections()}
        second["DEFAULT"] = dict(sections.defaults(), bind_port=ports[1],
                                 worker_self_reference_url=self.urls[1],
                                 node_staging_uri="file://%s/" % (base / "two-staging"))
        (base / "two").mkdir()
        config = daemons.write_config(base / "two" / "glance-api.conf", second)
        try:
            self.second = daemons.start(
                "glance-api", [sys.executable, "-m", "glance_api.cmd", "--config-file",
                               str(config)], config, ports[1], base / "two" / "api.log")
        except BaseException:
            self.pair.stop()
            raise

    def call(self, node: int, method: str, path: str, **kw):
        headers = dict(ADMIN, **kw.pop("headers", {}))
        return requests.request(method, self.urls[node] + path, headers=headers,
                                timeout=30, **kw)

    def stop(self):
        self.second.stop()
        self.pair.stop()


@pytest.fixture(scope="module")
def nodes(request, tmp_path_factory):
    made = Nodes(tmp_path_factory.mktemp("stage-nodes"),
                 database(request, tmp_path_factory, "sqlite"))
    yield made
    made.stop()


def _staged_on_first(nodes) -> str:
    image = nodes.call(0, "POST", "/v2/images", json={
        "name": "staged", "disk_format": "raw", "container_format": "bare"}).json()
    resp = nodes.call(0, "PUT", "/v2/images/%s/stage" % image["id"], data=DATA,
                      headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 204, resp.text
    return image["id"]


def test_an_import_sent_to_the_other_node_runs_where_the_data_was_staged(nodes):
    image_id = _staged_on_first(nodes)
    assert nodes.pair.registry_get(image_id)["properties"]["os_glance_stage_host"] \
        == nodes.urls[0]
    resp = nodes.call(1, "POST", "/v2/images/%s/import" % image_id,
                      json={"method": {"name": "glance-direct"}})
    assert resp.status_code == 202, resp.text
    assert poll_until(lambda: nodes.call(1, "GET", "/v2/images/" + image_id)
                      .json()["status"] == "active", 30)
    assert nodes.call(1, "GET", "/v2/images/%s/file" % image_id).content == DATA
    shown = nodes.call(1, "GET", "/v2/images/" + image_id).json()
    assert "os_glance_stage_host" not in shown  # Glance's bookkeeping, not shown


def test_a_forwarded_import_is_not_passed_on_again(nodes):
    image_id = _staged_on_first(nodes)
    resp = nodes.call(1, "POST", "/v2/images/%s/import" % image_id,
                      json={"method": {"name": "glance-direct"}},
                      headers={"X-Glance-Stage-Forwarded": "1"})
    assert resp.status_code == 409, resp.text
    assert nodes.call(0, "GET", "/v2/images/" + image_id).json()["status"] == "uploading"
