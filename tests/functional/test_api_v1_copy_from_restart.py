"""A v1 copy-from lost with its api process (SIGKILL while the fetch waits on
its source, and while another waits in the pool) ends ``killed`` once an api
runs again, instead of staying queued for ever; while the api lives, its
waiting fetches are left alone."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
import requests

from tests import daemons
from tests.image_server import serving
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until

DATA = os.urandom(64 * 1024)
INTERVAL = 1  # upload_heartbeat_interval: stale after 4 missed beats


@pytest.fixture(scope="module")
def source():
    with serving() as server:
        server.images["disk"] = DATA
        yield server


@pytest.fixture(scope="module")
def g(request, tmp_path_factory, source):
    url = database(request, tmp_path_factory, "sqlite")
    pair = Glance(tmp_path_factory.mktemp("copy-from-restart"), url,
                  upload_heartbeat_interval=INTERVAL, copy_from_workers=1, sections={
                      "import_filtering_opts": {"allowed_hosts": "127.0.0.1",
                                                "allowed_ports": "80,443,%d" % source.port}})
    yield pair
    pair.stop()


def _copy_from(g, url):
    resp = requests.post(g.url + "/v1/images", headers={
        "x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
        "x-glance-api-copy-from": url})
    assert resp.status_code == 201, resp.text
    return resp.json()["image"]["id"]


def _statuses(g, *image_ids):
    return [g.registry_get(image_id)["status"] for image_id in image_ids]


def _kill_and_restart_api(g):
    api = g.api
    os.killpg(api.process.pid, signal.SIGKILL)  # the master and its workers
    api.process.wait(daemons.STOP_TIMEOUT)
    cmd = [sys.executable, "-m", "glance_api.cmd", "--config-file", str(api.config)]
    g.api = daemons.start("glance-api", cmd, api.config, api.port, api.log)


def test_copy_from_lost_with_the_api_ends_killed_after_a_restart(g, source):
    fetching = _copy_from(g, source.url("/hang"))  # the source never answers
    waiting = _copy_from(g, source.url("/images/disk"))  # behind it in the pool
    assert poll_until(lambda: any(p == "/hang" for _, p, _ in source.requests), 10)
    # Longer than four missed beats: a live api keeps vouching for both.
    time.sleep(5 * INTERVAL + 0.5)
    assert _statuses(g, fetching, waiting) == ["queued", "queued"]

    _kill_and_restart_api(g)

    assert poll_until(lambda: _statuses(g, fetching, waiting) == ["killed", "killed"],
                      timeout=30), _statuses(g, fetching, waiting)
    for image_id in (fetching, waiting):
        assert g.wait_for_log("api", "Image %s is now killed: the api that was to "
                                     "fetch its data (copy-from) stopped vouching"
                              % image_id)
    head = requests.head(g.url + "/v1/images/" + waiting)
    assert head.headers["x-image-meta-status"] == "killed"
    assert not any(name.startswith(fetching) or name.startswith(waiting)
                   for name in os.listdir(g.images_dir))


def test_after_the_restart_copy_from_still_works(g, source):
    image_id = _copy_from(g, source.url("/images/disk"))
    assert poll_until(lambda: _statuses(g, image_id) == ["active"], 20)
    assert requests.get(g.url + "/v1/images/" + image_id).content == DATA
