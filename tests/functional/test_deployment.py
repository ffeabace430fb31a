"""Many nodes, one service: two glance-api processes behind HAProxy, two
glance-registry processes behind a second HAProxy, one PostgreSQL database
and the real Swift. Both balancers run etc/haproxy.cfg and check
/healthcheck; clients go through the api balancer only. A node killed with
SIGKILL mid-traffic costs only its in-flight requests: the balancer takes it
out, the survivor sweeps its abandoned uploads, and nothing is lost.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests

from tests import daemons
from tests import haproxy
from tests.pairs import database
from tests.required import unavailable
from tests.waiting import poll_until

MIB = 1024 * 1024
CONTAINER = "glance-deployment"
V1_HEADERS = {"x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
              "Content-Type": "application/octet-stream"}


class Cluster:
    """Two registries and two apis behind their balancers."""

    def __init__(self, base: Path, db_url: str, swift):
        self.base, self.db_url, self.swift = base, db_url, swift
        self.registries = {name: self._start_registry(name) for name in ("registry1",
                                                                          "registry2")}
        self.registry_lb = haproxy.start("glance-registry", {
            name: d.port for name, d in self.registries.items()}, base / "lb-registry")
        self.apis = {name: self._start_api(name) for name in ("api1", "api2")}
        self.api_lb = haproxy.start("glance-api", {
            name: d.port for name, d in self.apis.items()}, base / "lb-api")
        self.url = self.api_lb.url

    def _start_registry(self, name: str, port: int | None = None) -> daemons.Daemon:
        (self.base / name).mkdir(exist_ok=True)
        return daemons.start_registry(self.base / name, self.db_url,
                                      **({"bind_port": port} if port else {}))

    def _start_api(self, name: str, port: int | None = None) -> daemons.Daemon:
        home = self.base / name
        home.mkdir(exist_ok=True)
        port = port or daemons.free_port()
        config = daemons.write_config(home / "glance-api.conf", {
            "DEFAULT": {"bind_host": "127.0.0.1", "bind_port": port, "workers": 2,
                        "threads": 8, "debug": True, "registry_host": "127.0.0.1",
                        "registry_port": self.registry_lb.port,
                        "image_size_cap": 256 * MIB, "upload_heartbeat_interval": 1,
                        "image_cache_dir": str(home / "image-cache"),
                        "cache_prefetcher_interval": 0},
            "glance_store": {
                "stores": "swift,http", "default_store": "swift",
                "swift_store_auth_address": self.swift.auth_url,
                "swift_store_auth_version": "1", "swift_store_user": self.swift.user,
                "swift_store_key": self.swift.key, "swift_store_container": CONTAINER,
                "swift_store_create_container_on_put": "true",
                "swift_store_large_object_size": "1",
                "swift_store_large_object_chunk_size": "1"}})
        cmd = [sys.executable, "-m", "glance_api.cmd", "--config-file", str(config)]
        return daemons.start("glance-api", cmd, config, port, home / "glance-api.log")

    def kill(self, name: str) -> None:
        """SIGKILL a node's whole process group: master and workers at once."""
        daemon = self.apis.get(name) or self.registries[name]
        os.killpg(daemon.process.pid, signal.SIGKILL)
        daemon.process.wait(10)

    def revive(self, name: str) -> None:
        """Start a killed node again on its port; wait until its balancer has it back."""
        if name in self.apis:
            self.apis[name] = self._start_api(name, self.apis[name].port)
            assert self.api_lb.wait_state(name, "UP")
        else:
            self.registries[name] = self._start_registry(name, self.registries[name].port)
            assert self.registry_lb.wait_state(name, "UP")

    def stop(self) -> None:
        self.api_lb.stop()
        for daemon in self.apis.values():
            daemon.stop()
        self.registry_lb.stop()
        for daemon in self.registries.values():
            daemon.stop()


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory, swift_cluster):
    try:
        haproxy.ensure_installed()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        unavailable("cannot install HAProxy: %s" % exc)
    url = database(request, tmp_path_factory, "postgresql")
    deployed = Cluster(tmp_path_factory.mktemp("deployment"), url, swift_cluster)
    yield deployed
    deployed.stop()


def _upload(url: str, data: bytes, image_id: str | None = None) -> dict:
    headers = dict(V1_HEADERS, **{"x-image-meta-name": "deployed"})
    if image_id:
        headers["x-image-meta-id"] = image_id
    resp = requests.post(url + "/v1/images", data=data, headers=headers, timeout=60)
    assert resp.status_code == 201, resp.text
    return resp.json()["image"]


def _status(url: str, image_id: str) -> str | None:
    resp = requests.head(url + "/v1/images/" + image_id, timeout=10)
    return resp.headers.get("x-image-meta-status") if resp.status_code == 200 else None


def _served(daemon: daemons.Daemon, method: str, path_part: str) -> int:
    return sum(1 for line in daemon.log_text().splitlines()
               if "glance.access" in line and (" %s " % method) in line and path_part in line)


def _swift_objects(cluster: Cluster, image_id: str) -> list[str]:
    return [o for o in cluster.swift.list_container(CONTAINER) if o.startswith(image_id)]


def test_uploads_downloads_listings_and_deletes_spread_over_both_nodes(cluster):
    images = {}
    for _ in range(8):
        data = os.urandom(MIB + 17)
        image = _upload(cluster.url, data)
        assert image["checksum"] == hashlib.md5(data).hexdigest()
        images[image["id"]] = data
    for image_id, data in images.items():
        got = requests.get(cluster.url + "/v1/images/" + image_id, timeout=60)
        assert got.status_code == 200 and got.content == data
    for _ in range(4):  # whichever node answers, it lists every image
        listed = requests.get(cluster.url + "/v2/images?limit=100", timeout=10)
        assert set(images) <= {i["id"] for i in listed.json()["images"]}
    for image_id in images:
        assert requests.delete(cluster.url + "/v1/images/" + image_id,
                               timeout=30).status_code == 200
        assert _swift_objects(cluster, image_id) == []
    for daemon in cluster.apis.values():
        assert _served(daemon, "POST", "/v1/images") >= 1
        assert _served(daemon, "GET", "/v1/images/") >= 1
        assert _served(daemon, "GET", "/v2/images") >= 1
        assert _served(daemon, "DELETE", "/v1/images/") >= 1
    for daemon in cluster.registries.values():
        assert _served(daemon, "GET", "/images") >= 1


def test_a_deleted_or_deactivated_image_is_served_from_no_nodes_cache(cluster):
    data = os.urandom(2 * MIB)
    image = _upload(cluster.url, data)
    url = cluster.url + "/v2/images/%s/file" % image["id"]
    # Both nodes fill their caches, then serve from them: ask each one directly.
    for daemon in cluster.apis.values():
        got = requests.get(daemon.url + "/v2/images/%s/file" % image["id"], timeout=60)
        assert got.status_code == 200 and got.content == data
        assert poll_until(lambda d=daemon: image["id"] in {
            e["image_id"] for e in requests.get(d.url + "/v2/cache").json()["cached_images"]},
            timeout=20)
        got = requests.get(daemon.url + "/v2/images/%s/file" % image["id"], timeout=60)
        assert got.status_code == 200 and got.content == data
    deactivate = requests.post(cluster.url + "/v2/images/%s/actions/deactivate"
                               % image["id"], timeout=10)
    assert deactivate.status_code == 204
    for daemon in cluster.apis.values():
        # noauth makes every caller an admin, who may still download: from
        # the store, while the cached copy stays unread.
        got = requests.get(daemon.url + "/v2/images/%s/file" % image["id"], timeout=60)
        assert got.status_code == 200 and got.content == data
    assert requests.post(cluster.url + "/v2/images/%s/actions/reactivate" % image["id"],
                         timeout=10).status_code == 204
    assert requests.delete(cluster.url + "/v2/images/" + image["id"],
                           timeout=30).status_code == 204
    for daemon in cluster.apis.values():
        got = requests.get(daemon.url + "/v2/images/%s/file" % image["id"], timeout=10)
        assert got.status_code == 404
    assert requests.get(url, timeout=10).status_code == 404
    cached = requests.get(cluster.apis["api1"].url + "/v2/cache", timeout=10).json()
    hits = {e["image_id"]: e["hits"] for e in cached["cached_images"]}
    assert hits.get(image["id"]) == 1  # the second direct download only


class SlowUploads:
    """Uploads through the balancer that send 1 MiB, then wait to be released."""

    def __init__(self, url: str, count: int, size: int = 3 * MIB):
        self.release = threading.Event()
        self.ids = [str(uuid.uuid4()) for _ in range(count)]
        self.data = {image_id: os.urandom(size) for image_id in self.ids}
        self.results: dict[str, object] = {}
        self._threads = [threading.Thread(target=self._run, args=(url, i)) for i in self.ids]
        for thread in self._threads:
            thread.start()

    def _body(self, data: bytes):
        for start in range(0, len(data), 256 * 1024):
            if start == MIB:
                self.release.wait(60)
            yield data[start:start + 256 * 1024]

    def _run(self, url: str, image_id: str) -> None:
        headers = dict(V1_HEADERS, **{"x-image-meta-id": image_id})
        try:
            resp = requests.post(url + "/v1/images", data=self._body(self.data[image_id]),
                                 headers=headers, timeout=60)
            self.results[image_id] = resp.status_code
        except requests.RequestException as exc:
            self.results[image_id] = exc

    def finish(self) -> None:
        self.release.set()
        for thread in self._threads:
            thread.join(90)


class Traffic:
    """Threads downloading and listing through the balancer until stopped."""

    def __init__(self, url: str, images: dict[str, bytes], threads: int = 4):
        self.url, self.images = url, images
        self.stop_event = threading.Event()
        self.ok, self.failed = 0, []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,))
                         for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self, n: int) -> None:
        ids = list(self.images)
        i = n
        while not self.stop_event.is_set():
            image_id = ids[i % len(ids)]
            i += 1
            try:
                if i % 2:
                    resp = requests.get(self.url + "/v1/images/" + image_id, timeout=30)
                    good = resp.status_code == 200 and resp.content == self.images[image_id]
                else:
                    resp = requests.get(self.url + "/v2/images?limit=5", timeout=30)
                    good = resp.status_code == 200
                outcome = None if good else resp.status_code
            except requests.RequestException as exc:
                outcome = exc
            with self._lock:
                if outcome is None:
                    self.ok += 1
                else:
                    self.failed.append(outcome)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(60)


def _kept(cluster: Cluster, count: int = 3) -> dict[str, bytes]:
    images = {}
    for _ in range(count):
        data = os.urandom(MIB // 2 + 3)
        images[_upload(cluster.url, data)["id"]] = data
    return images


def _saving(cluster: Cluster, ids: list[str]) -> bool:
    return all(_status(cluster.url, i) == "saving" for i in ids)


def _check_nothing_lost(cluster: Cluster, kept: dict[str, bytes], uploads: SlowUploads):
    for image_id, data in kept.items():
        got = requests.get(cluster.url + "/v1/images/" + image_id, timeout=60)
        assert got.status_code == 200 and got.content == data
    for image_id in uploads.ids:
        if uploads.results[image_id] == 201:
            got = requests.get(cluster.url + "/v1/images/" + image_id, timeout=60)
            assert got.content == uploads.data[image_id]
        else:
            assert _status(cluster.url, image_id) == "killed"
            assert poll_until(lambda i=image_id: _swift_objects(cluster, i) == [], timeout=30)


def test_an_api_node_killed_mid_traffic_costs_only_its_requests_in_flight(cluster):
    kept = _kept(cluster)
    uploads = SlowUploads(cluster.url, 4)
    assert poll_until(lambda: _saving(cluster, uploads.ids), timeout=30)
    traffic = Traffic(cluster.url, kept)
    assert poll_until(lambda: traffic.ok >= 10, timeout=30)
    cluster.kill("api1")
    assert cluster.api_lb.wait_state("api1", "DOWN")
    after_down = traffic.ok
    uploads.finish()
    assert poll_until(lambda: traffic.ok >= after_down + 20, timeout=60)
    traffic.stop()
    # Only requests that api1 was serving when it died may fail: at most one
    # per traffic thread, and the uploads it held.
    assert len(traffic.failed) <= 4, traffic.failed
    failed = [i for i in uploads.ids if uploads.results[i] != 201]
    assert 1 <= len(failed) < len(uploads.ids), uploads.results
    # The survivor's sweep kills api1's abandoned uploads and removes their segments.
    assert poll_until(lambda: all(_status(cluster.url, i) == "killed" for i in failed),
                      timeout=30)
    _check_nothing_lost(cluster, kept, uploads)
    cluster.revive("api1")


def test_a_registry_node_killed_mid_traffic_costs_only_its_requests_in_flight(cluster):
    kept = _kept(cluster)
    uploads = SlowUploads(cluster.url, 4)
    assert poll_until(lambda: _saving(cluster, uploads.ids), timeout=30)
    traffic = Traffic(cluster.url, kept)
    assert poll_until(lambda: traffic.ok >= 10, timeout=30)
    cluster.kill("registry1")
    assert cluster.registry_lb.wait_state("registry1", "DOWN")
    assert cluster.api_lb.states() == {"api1": "UP", "api2": "UP"}
    after_down = traffic.ok
    uploads.finish()
    assert poll_until(lambda: traffic.ok >= after_down + 20, timeout=60)
    traffic.stop()
    assert len(traffic.failed) <= 4, traffic.failed
    # An upload's registry calls are short; one in flight at the kill may
    # cost its upload, the others finish through the surviving registry.
    assert sum(1 for r in uploads.results.values() if r == 201) >= len(uploads.ids) - 1
    assert poll_until(lambda: all(_status(cluster.url, i) in ("active", "killed")
                                  for i in uploads.ids), timeout=30)
    _check_nothing_lost(cluster, kept, uploads)
    cluster.revive("registry1")
