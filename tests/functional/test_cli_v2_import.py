"""The ``glance`` command's import, store and task commands (spec v2 sections
9 and 10) against a real multi-store registry + api pair.

The pair runs noauth (every request an admin without a project) with two
file stores, ``local`` (the default) and ``fast``, and glance-direct and
copy-image enabled. Imports run in the background, so each test waits for
the image to settle (tests/waiting.py) before looking at it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest
import requests

from tests.clients import rows
from tests.clients import table
from tests.functional.test_cli_v2_images import ok
from tests.functional.test_cli_v2_images import one_line_error
from tests.functional.test_cli_v2_images import run_cli
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_PARTS = ("glance_api/v2/imports.py", "glance_api/v2/stores.py",
                "glance_api/v2/tasks.py")
missing = [part for part in SERVER_PARTS if not (REPO_ROOT / part).exists()]
pytestmark = pytest.mark.skipif(bool(missing), reason="the server's import, stores and "
                                "tasks endpoints are not built yet: %s" % ", ".join(missing))


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """A multi-store pair for the whole module."""
    base = tmp_path_factory.mktemp("cli-import")
    dirs = {name: base / name for name in ("local", "fast", "staging", "tasks")}
    for path in dirs.values():
        path.mkdir()
    pair = Glance(base, database(request, tmp_path_factory, "sqlite"),
                  enabled_backends="local:file, fast:file",
                  enabled_import_methods="glance-direct, web-download, copy-image",
                  sections={
                      "glance_store": {"default_backend": "local"},
                      "local": {"filesystem_store_datadir": dirs["local"],
                                "store_description": "Local disks"},
                      "fast": {"filesystem_store_datadir": dirs["fast"],
                               "store_description": "Fast disks"},
                      "os_glance_staging_store": {"filesystem_store_datadir": dirs["staging"]},
                      "os_glance_tasks_store": {"filesystem_store_datadir": dirs["tasks"]}})
    pair.dirs = dirs
    yield pair
    pair.stop()


@pytest.fixture
def glance(server, tmp_path):
    def _run(*args, **kw):
        return run_cli(["--os-image-url", server.url, "--os-auth-token", "x", *args],
                       tmp_path, **kw)
    return _run


def image(server, image_id: str) -> dict:
    resp = requests.get(server.url + "/v2/images/" + image_id, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def settled(server, image_id: str, stores: set[str]) -> dict:
    """The image once it is active in exactly ``stores`` (fails after 30 s)."""
    def done() -> bool:
        record = image(server, image_id)
        return record["status"] == "active" and set(
            filter(None, (record.get("stores") or "").split(","))) == stores
    assert poll_until(done, timeout=30), image(server, image_id)
    return image(server, image_id)


def data_file(tmp_path, size: int = 200 * 1024) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / ("data-%s.img" % uuid.uuid4().hex[:6])
    path.write_bytes(data)
    return path, data


def test_import_info_and_stores_info(glance):
    info = table(ok(glance("import-info")))
    assert "glance-direct" in info["import-methods"]
    listed = {r["ID"]: r for r in rows(ok(glance("stores-info")))}
    assert set(listed) == {"local", "fast"}
    assert listed["local"]["Default"] == "true" and listed["fast"]["Default"] == ""
    assert listed["fast"]["Description"] == "Fast disks"
    detail = {r["ID"]: r for r in rows(ok(glance("stores-info", "--detail")))}
    assert detail["fast"]["Type"] == "file"


def test_create_via_import_to_two_stores(glance, server, tmp_path):
    source, data = data_file(tmp_path)
    printed = table(ok(glance("image-create-via-import", "--name", "imported",
                              "--disk-format", "raw", "--container-format", "bare",
                              "--file", str(source), "--stores", "local,fast",
                              "--progress")))
    image_id = printed["id"]
    record = settled(server, image_id, {"local", "fast"})
    assert record["checksum"] == hashlib.md5(data).hexdigest()
    out = tmp_path / "out.img"
    ok(glance("image-download", image_id, "--file", str(out)))
    assert out.read_bytes() == data


def test_stage_then_import_and_its_task(glance, server, tmp_path):
    source, data = data_file(tmp_path)
    image_id = table(ok(glance("image-create", "--name", "staged", "--disk-format", "raw",
                               "--container-format", "bare")))["id"]
    refused = one_line_error(glance("image-import", image_id))
    assert refused == ("The 'glance-direct' import method can only be applied to an image "
                       "in status 'uploading'")
    ok(glance("image-stage", image_id, "--file", str(source)))
    assert image(server, image_id)["status"] == "uploading"
    ok(glance("image-import", image_id, "--import-method", "glance-direct"))
    assert settled(server, image_id, {"local"})["size"] == len(data)
    tasks = rows(ok(glance("image-tasks", image_id)))
    assert tasks and tasks[-1]["Status"] in ("success", "processing")
    verbose = rows(ok(glance("--verbose", "image-tasks", image_id)))
    assert verbose[-1]["Image Id"] == image_id


def test_copy_image_to_another_store_then_remove_a_copy(glance, server, tmp_path):
    source, data = data_file(tmp_path)
    image_id = table(ok(glance("image-create", "--name", "copied", "--disk-format", "raw",
                               "--container-format", "bare", "--file", str(source))))["id"]
    settled(server, image_id, {"local"})
    ok(glance("image-import", image_id, "--import-method", "copy-image", "--stores", "fast"))
    settled(server, image_id, {"local", "fast"})
    assert (server.dirs["fast"] / image_id).read_bytes() == data
    ok(glance("stores-delete", image_id, "--store", "local"))
    settled(server, image_id, {"fast"})
    assert not (server.dirs["local"] / image_id).exists()
    line = one_line_error(glance("stores-delete", image_id, "--store", "fast"))
    assert line.startswith("Unable to delete image '%s' from store 'fast'. (HTTP 403"
                           % image_id)
    assert (server.dirs["fast"] / image_id).read_bytes() == data


def test_an_unknown_store_is_refused_before_anything_is_created(glance, server, tmp_path):
    source, _ = data_file(tmp_path, 10)
    name = "never-" + uuid.uuid4().hex[:6]
    line = one_line_error(glance("image-create-via-import", "--name", name,
                                 "--disk-format", "raw", "--container-format", "bare",
                                 "--file", str(source), "--store", "nosuch"))
    assert line.startswith("Store 'nosuch' is not valid for this cloud.")
    found = requests.get(server.url + "/v2/images", params={"name": name}, timeout=30)
    assert found.json()["images"] == []
