"""Interoperable image import end to end (spec v2 sections 9 and 12): real
registry + api pairs over HTTP, on SQLite and PostgreSQL.

- glance-direct through the real clients behind a real Keystone:
  glanceclient 4.13 ``image-create-via-import``, ``image-stage`` +
  ``image-import`` and ``image-tasks``; OSC 10.5 ``image create --import``.
- A multi-store pair (``fast`` and ``cheap`` file stores, the real Swift as
  ``far``, and ``tiny``, a file store on a 1 MiB tmpfs that fills up) for
  web-download from a local HTTP server the config allows explicitly,
  copy-image into two more stores, and the failures: a refused address
  (literal private and link-local addresses: no lookup, nothing leaves
  loopback), a redirect to one, a source that dies mid-transfer, a full
  target store, and an api killed -9 mid-import and started again. Each
  ends with a usable image and no stray bytes in any store or the staging
  area.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid

import pytest
import requests

from tests import daemons
from tests.clients import Cloud
from tests.clients import qcow2
from tests.clients import register_image_endpoint
from tests.clients import rows
from tests.clients import run
from tests.clients import table
from tests.image_server import serving
from tests.pairs import Glance
from tests.pairs import database
from tests.required import unavailable
from tests.waiting import poll_until

OCTET = {"Content-Type": "application/octet-stream"}
DATA = os.urandom(200 * 1024 + 17)
BIG = os.urandom(2 * 1024 * 1024)  # more than the tiny store holds
INTERVAL = 1  # upload_heartbeat_interval: an import lost for 4 s is swept


# --- sources -----------------------------------------------------------------

class _Stalling(http.server.BaseHTTPRequestHandler):
    """Sends the first half of a declared body, then waits to be released."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        server.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(DATA)))
        self.end_headers()
        self.wfile.write(DATA[:len(DATA) // 2])
        self.wfile.flush()
        server.release.wait(60)
        self.close_connection = True


@pytest.fixture(scope="module")
def stalling():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)
    server.daemon_threads = True
    server.release = threading.Event()
    server.hits = 0
    server.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def source():
    with serving() as server:
        server.images.update(disk=DATA, big=BIG)
        yield server


# --- the multi-store pair ----------------------------------------------------

class Site:
    """A noauth multi-store pair (every call is an admin's) and its store directories."""

    def __init__(self, base, db_url, swift_cluster, ports):
        self.dirs = {name: base / name for name in ("fast", "cheap", "tiny", "staging",
                                                    "tasks")}
        for path in self.dirs.values():
            path.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                                  str(self.dirs["tiny"])], capture_output=True, text=True)
        if mounted.returncode != 0:
            unavailable("cannot mount a tmpfs for the full store (needs root): "
                        + mounted.stderr.strip())
        self.swift = swift_cluster
        self.container = "import-%s" % uuid.uuid4().hex[:8]
        try:
            self.glance = Glance(
                base, db_url, upload_heartbeat_interval=INTERVAL,
                enabled_import_methods="glance-direct,web-download,copy-image,"
                                       "glance-download",
                enabled_backends="fast:file, cheap:file, far:swift, tiny:file",
                sections={
                    "glance_store": {"default_backend": "fast"},
                    "fast": {"filesystem_store_datadir": self.dirs["fast"]},
                    "cheap": {"filesystem_store_datadir": self.dirs["cheap"]},
                    "tiny": {"filesystem_store_datadir": self.dirs["tiny"]},
                    "far": {"swift_store_auth_address": swift_cluster.auth_url,
                            "swift_store_auth_version": "1",
                            "swift_store_user": swift_cluster.user,
                            "swift_store_key": swift_cluster.key,
                            "swift_store_container": self.container,
                            "swift_store_create_container_on_put": "true"},
                    "os_glance_staging_store": {
                        "filesystem_store_datadir": self.dirs["staging"]},
                    "os_glance_tasks_store": {"filesystem_store_datadir": self.dirs["tasks"]},
                    # The test's own servers, named explicitly: loopback is
                    # refused unless the operator allows it.
                    "import_filtering_opts": {
                        "allowed_hosts": "127.0.0.1",
                        "allowed_ports": ",".join(str(p) for p in (80, 443, *ports))},
                })
        except BaseException:
            subprocess.run(["umount", str(self.dirs["tiny"])], check=False)
            raise
        self.url = self.glance.url

    def call(self, method: str, path: str, **kw):
        return requests.request(method, self.url + path, timeout=60, **kw)

    def create(self, **fields) -> str:
        fields.setdefault("disk_format", "raw")
        fields.setdefault("container_format", "bare")
        resp = self.call("POST", "/v2/images", json=fields)
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    def show(self, image_id: str) -> dict:
        resp = self.call("GET", "/v2/images/" + image_id)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def import_(self, image_id: str, body: dict, code: int = 202, **headers):
        resp = self.call("POST", "/v2/images/%s/import" % image_id, json=body,
                         headers=headers)
        assert resp.status_code == code, resp.text
        return resp

    def ends(self, image_id: str, status: str, timeout: float = 30) -> dict:
        """The image once its import is over (nothing left to import) in ``status``."""
        def over():
            image = self.show(image_id)
            return (image["status"] == status
                    and not image.get("os_glance_importing_to_stores"))
        assert poll_until(over, timeout), self.show(image_id)
        return self.show(image_id)

    def stores_of(self, image_id: str) -> list[str]:
        return [loc["metadata"].get("store")
                for loc in self.glance.registry_get(image_id)["locations"]]

    def files(self, *names: str) -> dict[str, list[str]]:
        return {name: sorted(os.listdir(self.dirs[name])) for name in names}

    def swift_objects(self, image_id: str) -> list[str]:
        try:
            listed = self.swift.list_container(self.container)
        except Exception:  # the container is made by the first write
            return []
        return [o for o in listed if image_id in str(o)]

    def task(self, image_id: str) -> dict:
        """The image's latest task, once it has ended (it ends just after the image)."""
        def latest():
            return self.call("GET", "/v2/images/%s/tasks" % image_id).json()["tasks"][-1]
        poll_until(lambda: latest()["status"] in ("success", "failure"), 10)
        return latest()

    def stop(self) -> None:
        try:
            self.glance.stop()
        finally:
            subprocess.run(["umount", str(self.dirs["tiny"])], check=False)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory, swift_cluster, source, stalling):
    url = database(request, tmp_path_factory, request.param)
    made = Site(tmp_path_factory.mktemp("import-" + request.param), url, swift_cluster,
                (source.port, stalling.port))
    yield made
    made.stop()


def _stray(site: Site, image_id: str) -> dict:
    """Every byte of ``image_id`` left in a store or the staging area."""
    found = {name: [f for f in files if image_id in f]
             for name, files in site.files("fast", "cheap", "tiny", "staging").items()}
    found["far"] = site.swift_objects(image_id)
    return {k: v for k, v in found.items() if v}


def test_web_download_from_an_allowed_local_server(site, source):
    image_id = site.create()
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/images/disk")}})
    image = site.ends(image_id, "active")
    assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert image["os_glance_failed_import"] == ""
    assert site.call("GET", "/v2/images/%s/file" % image_id).content == DATA
    assert site.stores_of(image_id) == ["fast"]
    assert site.files("staging")["staging"] == []
    task = site.task(image_id)
    assert task["status"] == "success" and task["type"] == "api_image_import"


def test_copy_image_into_two_more_stores_swift_included(site, source):
    image_id = site.create()
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/images/disk")}})
    site.ends(image_id, "active")
    site.import_(image_id, {"method": {"name": "copy-image"}, "stores": ["cheap", "far"]})
    image = site.ends(image_id, "active")
    assert image["os_glance_failed_import"] == ""
    assert site.stores_of(image_id) == ["fast", "cheap", "far"]
    assert (site.dirs["cheap"] / image_id).read_bytes() == DATA
    assert site.swift_objects(image_id)
    # Every copy serves the same bytes: remove the others and read each.
    again = site.import_(image_id, {"method": {"name": "copy-image"}, "stores": ["cheap"]},
                         code=409)
    assert "already present" in again.text


@pytest.mark.parametrize("uri", ["http://10.1.2.3/disk", "http://169.254.169.254/latest",
                                 "http://[::1]:8080/x", "file:///etc/passwd"])
def test_web_download_of_a_refused_address_is_400_and_changes_nothing(site, uri):
    image_id = site.create()
    before = site.glance.registry_get(image_id)
    resp = site.import_(image_id, {"method": {"name": "web-download", "uri": uri}}, code=400)
    assert "URI for web-download does not pass filtering" in resp.text
    after = site.glance.registry_get(image_id)
    assert (after["status"], after["properties"]) == ("queued", before["properties"])


def test_a_redirect_to_a_refused_address_fails_the_import(site, source):
    image_id = site.create()
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/to?url=http://10.1.2.3/disk")}})
    image = site.ends(image_id, "queued")
    assert image["os_glance_failed_import"] == "fast"
    assert site.task(image_id)["status"] == "failure"
    assert _stray(site, image_id) == {}


def test_a_source_that_dies_mid_transfer_leaves_the_image_queued_and_no_bytes(
        site, source):
    image_id = site.create()
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/truncated/disk")},
                            "stores": ["fast", "cheap"]})
    image = site.ends(image_id, "queued")
    assert (image["size"], image["checksum"]) == (None, None)
    assert image["os_glance_failed_import"] == "fast,cheap"
    task = site.task(image_id)
    assert task["status"] == "failure" and task["message"]
    assert _stray(site, image_id) == {}
    # Usable: a second try from a good source works.
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/images/disk")}})
    site.ends(image_id, "active")


def test_a_full_target_store_fails_a_copy_and_leaves_no_bytes(site, source):
    image_id = site.create()
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/images/big")}})
    site.ends(image_id, "active", timeout=60)
    site.import_(image_id, {"method": {"name": "copy-image"}, "stores": ["tiny"]})
    image = site.ends(image_id, "active")
    assert image["os_glance_failed_import"] == "tiny"
    assert site.stores_of(image_id) == ["fast"]
    assert site.files("tiny")["tiny"] == []
    assert site.call("GET", "/v2/images/%s/file" % image_id).content == BIG


def test_a_full_store_that_must_succeed_queues_the_image_with_no_bytes_anywhere(
        site, source):
    image_id = site.create()
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/images/big")},
                            "stores": ["fast", "tiny"], "all_stores_must_succeed": True})
    image = site.ends(image_id, "queued", timeout=60)
    assert image["os_glance_failed_import"] == "fast,tiny"
    assert _stray(site, image_id) == {}


def test_stores_that_succeeded_stay_when_not_all_must(site, source):
    image_id = site.create()
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/images/big")},
                            "stores": ["tiny", "cheap"], "all_stores_must_succeed": False})
    image = site.ends(image_id, "active", timeout=60)
    assert image["os_glance_failed_import"] == "tiny"
    assert site.stores_of(image_id) == ["cheap"]
    assert site.files("tiny", "staging") == {"tiny": [], "staging": []}


def test_glance_download_is_refused_without_keystones_catalog(site, source):
    # Under noauth X-Service-Catalog is the client's word: its URL (here one
    # the import filter would even allow) is never fetched.
    remote_id = site.create()
    site.import_(remote_id, {"method": {"name": "web-download",
                                        "uri": source.url("/images/disk")}})
    site.ends(remote_id, "active")
    catalog = json.dumps([{"type": "image", "name": "glance", "endpoints": [
        {"region_id": "RegionTwo", "interface": "public", "url": source.url("/")}]}])
    image_id = site.create()
    refused = site.import_(image_id, {"method": {
        "name": "glance-download", "glance_region": "RegionTwo",
        "glance_image_id": remote_id}}, code=400,
        **{"X-Service-Catalog": catalog, "X-Auth-Token": "t"})
    assert "Keystone" in refused.text
    assert site.call("GET", "/v2/images/" + image_id).json()["status"] == "queued"


def test_a_legacy_import_task_fetches_into_a_new_image(site, source):
    resp = site.call("POST", "/v2/tasks", json={"type": "import", "input": {
        "import_from": source.url("/images/disk"), "import_from_format": "raw",
        "image_properties": {"name": "legacy-task", "container_format": "bare"}}})
    assert resp.status_code == 201, resp.text
    task_id = resp.json()["id"]

    def task():
        return site.call("GET", "/v2/tasks/" + task_id).json()
    assert poll_until(lambda: task()["status"] == "success", 30), task()
    image = site.show(task()["result"]["image_id"])
    assert (image["name"], image["status"], image["size"]) == ("legacy-task", "active",
                                                                len(DATA))


def _kill_and_restart_api(glance: Glance) -> None:
    api = glance.api
    os.killpg(api.process.pid, signal.SIGKILL)  # the master and its workers
    api.process.wait(daemons.STOP_TIMEOUT)
    cmd = [sys.executable, "-m", "glance_api.cmd", "--config-file", str(api.config)]
    glance.api = daemons.start("glance-api", cmd, api.config, api.port, api.log)


def test_an_import_lost_with_its_api_is_queued_again_without_its_bytes(
        site, stalling, source):
    if "sqlite" not in site.glance.db_url:
        pytest.skip("one database is enough for a kill: the sweep's SQL is shared")
    image_id = site.create()
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": "http://127.0.0.1:%d/x" % stalling.port}})
    # Half the bytes are staged when the api dies.
    assert poll_until(lambda: any(image_id in f for f in site.files("staging")["staging"]),
                      20)
    assert site.show(image_id)["status"] == "importing"
    _kill_and_restart_api(site.glance)
    stalling.release.set()
    image = site.ends(image_id, "queued", timeout=30)
    assert image["os_glance_importing_to_stores"] == ""
    assert image["os_glance_failed_import"] == "fast"
    assert site.task(image_id)["status"] == "failure"
    assert _stray(site, image_id) == {}
    site.import_(image_id, {"method": {"name": "web-download",
                                       "uri": source.url("/images/disk")}})
    site.ends(image_id, "active")


def test_a_v2_upload_lost_with_its_api_goes_back_to_queued_not_killed(site):
    if "sqlite" not in site.glance.db_url:
        pytest.skip("one database is enough for a kill: the sweep's SQL is shared")
    image_id = site.create()
    host, port = "127.0.0.1", site.glance.api.port
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.sendall(("PUT /v2/images/%s/file HTTP/1.1\r\nHost: %s:%d\r\n"
                      "Content-Type: application/octet-stream\r\n"
                      "Content-Length: %d\r\n\r\n" % (image_id, host, port, len(BIG))
                      ).encode() + BIG[:len(BIG) // 2])
        assert poll_until(lambda: site.show(image_id)["status"] == "saving", 20)
        _kill_and_restart_api(site.glance)
    image = site.ends(image_id, "queued", timeout=30)
    assert (image["size"], image["checksum"]) == (None, None)
    assert "os_glance_upload_api" not in site.glance.registry_get(image_id)["properties"]
    assert _stray(site, image_id) == {}
    resp = site.call("PUT", "/v2/images/%s/file" % image_id, data=DATA, headers=OCTET)
    assert resp.status_code == 204, resp.text


# --- the real clients, glance-direct -------------------------------------------

def _multistore_cloud(request, tmp_path_factory, kind: str) -> Cloud:
    """A real Keystone and a guarded multi-store pair (two file stores, as in
    the spec's captures) in its catalog; glanceclient's image-tasks needs
    v2.12, which Glance lists in multi-store mode only."""
    from tests.keystone import Keystone

    base = tmp_path_factory.mktemp("import-clients-" + kind)
    url = database(request, tmp_path_factory, kind)
    try:
        keystone = Keystone.start(base / "keystone")
    except Exception as exc:  # install, bootstrap or start: any of them
        unavailable("Keystone could not be set up: %s" % exc)
    try:
        pair = Glance(base / "glance", url, keystone=keystone.authtoken_section(),
                      service_token=lambda: keystone.token("glance"),
                      enabled_import_methods="glance-direct,web-download,copy-image,"
                                             "glance-download",
                      enabled_backends="local:file, fast:file", sections={
                          "glance_store": {"default_backend": "local"},
                          "local": {"filesystem_store_datadir": base / "local"},
                          "fast": {"filesystem_store_datadir": base / "fast"},
                          "os_glance_staging_store": {
                              "filesystem_store_datadir": base / "staging"},
                          "os_glance_tasks_store": {
                              "filesystem_store_datadir": base / "tasks"}})
        cloud = Cloud(keystone, pair, base / "home")
        cloud.home.mkdir()
        register_image_endpoint(keystone, pair.url)
        # The same service plays another region's Glance for glance-download.
        register_image_endpoint(keystone, pair.url, region="RegionTwo")
    except BaseException:
        keystone.stop()
        raise
    return cloud


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cloud(request, tmp_path_factory):
    made = _multistore_cloud(request, tmp_path_factory, request.param)
    yield made
    made.stop()


def _wait_active(cloud, image_id: str) -> dict:
    assert poll_until(lambda: cloud.show("alice", image_id)["status"] == "active", 30), \
        cloud.show("alice", image_id)
    return cloud.show("alice", image_id)


def test_glanceclient_image_create_via_import(glance_v2_cli, cloud, tmp_path):
    data = qcow2(payload=100 * 1024 + 3)
    source = tmp_path / "disk.qcow2"
    source.write_bytes(data)
    name = "via-import-%s" % uuid.uuid4().hex[:6]
    out = run(glance_v2_cli, cloud, "alice", "image-create-via-import", "--name", name,
              "--disk-format", "qcow2", "--container-format", "bare",
              "--file", str(source)).stdout
    image_id = table(out)["id"]
    image = _wait_active(cloud, image_id)
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image["virtual_size"] == 64 * 1024 * 1024
    got = cloud.api("alice", "GET", "/v2/images/%s/file" % image_id)
    assert got.content == data


def test_glanceclient_stage_import_and_tasks(glance_v2_cli, cloud, tmp_path):
    data = qcow2(payload=50 * 1024)
    source = tmp_path / "disk.qcow2"
    source.write_bytes(data)
    image_id = cloud.create("alice", disk_format="qcow2")["id"]
    run(glance_v2_cli, cloud, "alice", "image-stage", "--file", str(source), image_id)
    staged = cloud.show("alice", image_id)
    assert (staged["status"], staged["size"]) == ("uploading", len(data))
    run(glance_v2_cli, cloud, "alice", "image-import", "--import-method", "glance-direct",
        image_id)
    _wait_active(cloud, image_id)
    # The task ends just after the image does.
    assert poll_until(lambda: cloud.api("alice", "GET", "/v2/images/%s/tasks" % image_id)
                      .json()["tasks"][-1]["status"] == "success", 10)
    tasks = rows(run(glance_v2_cli, cloud, "alice", "image-tasks", image_id).stdout)
    assert [(t["Status"], t["Message"]) for t in tasks] == [("success", "Copied 1 MiB")]
    # copy-image into the second store: admins only (spec 9.3, policy copy_image).
    refused = run(glance_v2_cli, cloud, "alice", "image-import", "--import-method",
                  "copy-image", "--stores", "fast", image_id, check=False)
    assert refused.returncode != 0 and "copy_image" in refused.stderr + refused.stdout
    run(glance_v2_cli, cloud, "admin", "image-import", "--import-method", "copy-image",
        "--stores", "fast", image_id)
    assert poll_until(lambda: len(cloud.glance.registry_get(image_id)["locations"]) == 2, 30)
    image = cloud.show("alice", image_id)
    assert (image["status"], image["os_glance_failed_import"]) == ("active", "")


def test_glanceclient_refuses_glance_direct_before_staging(glance_v2_cli, cloud):
    image_id = cloud.create("alice")["id"]
    proc = run(glance_v2_cli, cloud, "alice", "image-import", "--import-method",
               "glance-direct", image_id, check=False)
    assert proc.returncode != 0
    assert cloud.show("alice", image_id)["status"] == "queued"


def test_glance_download_from_another_region_in_keystones_catalog(cloud):
    data = os.urandom(40 * 1024)
    remote = cloud.create("alice", name="in-region-two", hw_disk_bus="scsi",
                          note="stays there")
    put = cloud.api("alice", "PUT", "/v2/images/%s/file" % remote["id"], data=data,
                    headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    image = cloud.create("alice", name="downloaded")
    body = {"method": {"name": "glance-download", "glance_region": "RegionTwo",
                       "glance_image_id": remote["id"]}}
    resp = cloud.api("alice", "POST", "/v2/images/%s/import" % image["id"], json=body)
    assert resp.status_code == 202, resp.text
    done = _wait_active(cloud, image["id"])
    assert done["os_hash_value"] == hashlib.sha512(data).hexdigest()
    # [glance_download_opts] extra_properties: hw_* comes along, the rest not.
    assert done["hw_disk_bus"] == "scsi" and "note" not in done
    got = cloud.api("alice", "GET", "/v2/images/%s/file" % image["id"])
    assert got.content == data
    # A region the catalog does not have is refused before anything changes.
    other = cloud.create("alice", name="nowhere")
    body["method"]["glance_region"] = "RegionNine"
    refused = cloud.api("alice", "POST", "/v2/images/%s/import" % other["id"], json=body)
    assert refused.status_code == 400, refused.text
    assert cloud.show("alice", other["id"])["status"] == "queued"


def test_openstack_image_create_import(openstack_cli, cloud, tmp_path):
    data = os.urandom(70 * 1024)
    source = tmp_path / "disk.raw"
    source.write_bytes(data)
    name = "osc-import-%s" % uuid.uuid4().hex[:6]
    out = run(openstack_cli, cloud, "alice", "image", "create", "--import", "--file",
              str(source), "--disk-format", "raw", name, "-f", "value", "-c", "id").stdout
    image_id = out.strip().splitlines()[-1]
    image = _wait_active(cloud, image_id)
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert cloud.api("alice", "GET", "/v2/images/%s/file" % image_id).content == data
