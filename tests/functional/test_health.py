"""/healthcheck on both daemons, honest for load balancers: the database and
the store broken for real, and healthy again once repaired."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests import daemons
from tests.pairs import Glance
from tests.pairs import migrate
from tests.waiting import poll_until


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A pair whose SQLite database lives in a directory of its own."""
    base = tmp_path_factory.mktemp("health")
    (base / "db").mkdir()
    url = "sqlite:///%s" % (base / "db" / "glance.sqlite")
    migrate(url)
    glance = Glance(base, url)
    yield glance
    glance.stop()


def _health(url: str) -> requests.Response:
    return requests.get(url + "/healthcheck", timeout=30)


def test_both_are_healthy_with_a_detail(pair):
    api = _health(pair.url)
    assert api.status_code == 200
    assert api.text.splitlines() == ["OK", "registry: ok", "store file: ok"]
    assert _health(pair.registry.url).status_code == 200


def test_a_database_that_went_away_is_503_on_both(pair):
    db_dir = pair.base / "db"
    moved = pair.base / "db-away"
    db_dir.rename(moved)
    try:
        registry = _health(pair.registry.url)
        assert registry.status_code == 503
        assert "database" in registry.text
        api = _health(pair.url)
        assert api.status_code == 503
        assert api.text.startswith("UNHEALTHY: registry\n")
    finally:
        moved.rename(db_dir)
    assert poll_until(lambda: _health(pair.url).status_code == 200, timeout=10)


def test_a_missing_datadir_is_503_naming_the_store(pair):
    images = Path(pair.images_dir)
    moved = images.with_name("images-away")
    images.rename(moved)
    try:
        api = _health(pair.url)
        assert api.status_code == 503
        assert api.text.startswith("UNHEALTHY: store file\n")
        assert "is missing" in api.text
    finally:
        moved.rename(images)
    assert _health(pair.url).status_code == 200


def test_a_read_only_datadir_is_503_even_for_root(pair):
    images = pair.images_dir
    bound = subprocess.run(["mount", "--bind", images, images], capture_output=True, text=True)
    if bound.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("cannot bind-mount the datadir: " + bound.stderr)
        pytest.skip("bind mounts need root: " + bound.stderr.strip())
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", images], check=True)
        api = _health(pair.url)
        assert api.status_code == 503
        assert "not writable (Read-only file system)" in api.text
    finally:
        subprocess.run(["umount", images], check=False)
    assert _health(pair.url).status_code == 200


def test_a_registry_on_an_unreachable_postgresql_is_503(tmp_path):
    port = daemons.free_port()
    config = daemons.write_config(tmp_path / "glance-registry.conf", {
        "DEFAULT": {"bind_host": "127.0.0.1", "bind_port": port, "workers": 1},
        "database": {"connection": "postgresql://postgres@127.0.0.1:%d/glance"
                                   % daemons.free_port()}})
    log = open(tmp_path / "registry.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "glance_registry.cmd", "--config-file",
                             str(config)], stdout=log, stderr=subprocess.STDOUT,
                            cwd=str(daemons.REPO_ROOT))
    try:
        def answered():
            try:
                return _health("http://127.0.0.1:%d" % port).status_code
            except requests.ConnectionError:
                return None

        assert poll_until(lambda: answered() is not None, timeout=30)
        resp = _health("http://127.0.0.1:%d" % port)
        assert resp.status_code == 503
        assert "database" in resp.text
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
