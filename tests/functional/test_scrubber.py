"""Delayed delete and glance-scrubber (scrub, restore, daemon), orphaned data,
and an api killed with SIGKILL mid-upload, then restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests import daemons
from tests.functional.test_api_v1_failures import ChunkedUpload
from tests.pairs import Glance
from tests.pairs import database
from tests.waiting import poll_until


@pytest.fixture(scope="module")
def delayed(request, tmp_path_factory):
    """A pair with delayed_delete, a scrub_time of an hour, and quick heartbeats."""
    url = database(request, tmp_path_factory, "sqlite")
    pair = Glance(tmp_path_factory.mktemp("scrub"), url, delayed_delete=True,
                  scrub_time=3600, upload_heartbeat_interval=1)
    yield pair
    pair.stop()


def scrubber(pair: Glance, *args: str, **overrides) -> subprocess.CompletedProcess:
    """Run glance-scrubber on the pair's glance-api.conf (plus ``overrides``)."""
    cmd = [sys.executable, "-m", "glance_api.scrubber.cmd",
           "--config-file", str(pair.api.config)]
    if overrides:
        extra = daemons.write_config(pair.base / ("override-%s.conf" % uuid.uuid4().hex),
                                     {"DEFAULT": overrides})
        cmd += ["--config-file", str(extra)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60,
                          cwd=str(daemons.REPO_ROOT))


def _upload(pair: Glance, data: bytes, **props) -> dict:
    headers = {"x-image-meta-disk_format": "raw", "x-image-meta-container_format": "bare",
               "Content-Type": "application/octet-stream"}
    headers.update({"x-image-meta-property-%s" % k: v for k, v in props.items()})
    resp = requests.post(pair.url + "/v1/images", headers=headers, data=data)
    assert resp.status_code == 201, resp.text
    return resp.json()["image"]


def _status(pair: Glance, image_id: str) -> str | None:
    return requests.head(pair.url + "/v1/images/" + image_id).headers.get(
        "x-image-meta-status")


def _data_file(pair: Glance, image_id: str) -> Path:
    return Path(pair.images_dir) / image_id


def _delete(pair: Glance, image_id: str) -> None:
    assert requests.delete(pair.url + "/v1/images/" + image_id).status_code == 200
    assert _status(pair, image_id) == "pending_delete"


def test_a_delayed_delete_keeps_the_data_until_scrub_time_has_passed(delayed):
    image = _upload(delayed, b"kept for now")
    _delete(delayed, image["id"])
    assert _data_file(delayed, image["id"]).exists()

    early = scrubber(delayed)
    assert early.returncode == 0, early.stderr
    assert image["id"] not in early.stdout
    assert _status(delayed, image["id"]) == "pending_delete"
    assert _data_file(delayed, image["id"]).exists()

    due = scrubber(delayed, scrub_time=0)
    assert due.returncode == 0, due.stderr
    assert "scrubbed %s" % image["id"] in due.stdout
    assert _status(delayed, image["id"]) == "deleted"
    assert not _data_file(delayed, image["id"]).exists()
    assert delayed.registry_get(image["id"])["locations"] == []


def test_restore_brings_a_pending_image_back_with_its_data_and_properties(delayed):
    data = os.urandom(100_000)
    image = _upload(delayed, data, os_distro="cirros")
    _delete(delayed, image["id"])
    restored = scrubber(delayed, "--restore", image["id"])
    assert restored.returncode == 0, restored.stderr
    assert _status(delayed, image["id"]) == "active"
    got = requests.get(delayed.url + "/v1/images/" + image["id"])
    assert got.content == data
    assert got.headers["x-image-meta-property-os_distro"] == "cirros"
    assert got.headers["x-image-meta-deleted"] == "False"
    # A restored image is deleted (and scrubbed) again like any other.
    _delete(delayed, image["id"])
    assert scrubber(delayed, scrub_time=0).returncode == 0
    assert _status(delayed, image["id"]) == "deleted"


def test_restore_is_refused_once_the_data_is_gone_or_the_image_is_not_pending(delayed):
    image = _upload(delayed, b"lost")
    _delete(delayed, image["id"])
    _data_file(delayed, image["id"]).unlink()
    gone = scrubber(delayed, "--restore", image["id"])
    assert gone.returncode == 1
    assert "data is gone" in gone.stderr
    assert _status(delayed, image["id"]) == "pending_delete"

    active = _upload(delayed, b"alive")
    refused = scrubber(delayed, "--restore", active["id"])
    assert refused.returncode == 1
    assert "is active, not pending_delete" in refused.stderr


def test_the_registry_lets_only_admins_scrub_or_restore(delayed):
    image = _upload(delayed, b"guarded")
    _delete(delayed, image["id"])
    member = {"X-Glance-Context-Roles": "member", "X-Glance-Context-Project": "p",
              "Accept": "application/json"}
    for action in ("restore", "scrubbed"):
        resp = requests.post("%s/images/%s/%s" % (delayed.registry.url, image["id"], action),
                             headers=member)
        assert resp.status_code == 403
    admin = delayed.registry_headers()
    assert requests.post("%s/images/%s/scrubbed" % (delayed.registry.url, image["id"]),
                         headers=admin).json()["image"]["status"] == "deleted"
    again = requests.post("%s/images/%s/restore" % (delayed.registry.url, image["id"]),
                          headers=admin)
    assert again.status_code == 409


def test_the_scrubber_daemon_scrubs_every_wakeup_time(delayed):
    extra = daemons.write_config(delayed.base / "daemon.conf",
                                 {"DEFAULT": {"scrub_time": 0, "wakeup_time": 1}})
    proc = subprocess.Popen([sys.executable, "-m", "glance_api.scrubber.cmd", "--daemon",
                             "--config-file", str(delayed.api.config),
                             "--config-file", str(extra)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=str(daemons.REPO_ROOT))
    try:
        image = _upload(delayed, b"scrubbed by the daemon")
        _delete(delayed, image["id"])
        assert poll_until(lambda: _status(delayed, image["id"]) == "deleted", timeout=20)
        assert not _data_file(delayed, image["id"]).exists()
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(15)


def test_orphans_are_reported_and_removed_only_when_asked(delayed):
    keep = _upload(delayed, b"an image with data")
    orphan = _data_file(delayed, str(uuid.uuid4()))
    orphan.write_bytes(b"written by a process killed before it recorded the image")
    killed = delayed.registry_create({"name": "dead", "status": "killed",
                                      "disk_format": "raw", "container_format": "bare"})
    partial = Path(delayed.images_dir) / (".%s.0123456789abcdef.part" % killed["id"])
    partial.write_bytes(b"half an upload")
    foreign = Path(delayed.images_dir) / "README.operator"
    foreign.write_text("not ours")

    report = scrubber(delayed, "--orphans")
    assert report.returncode == 0, report.stderr
    assert "orphan %s" % orphan in report.stdout
    assert "orphan %s" % partial in report.stdout and "which is killed" in report.stdout
    assert "ignored %s" % foreign in report.stdout
    assert keep["id"] not in report.stdout
    assert orphan.exists() and partial.exists()  # a report only

    removed = scrubber(delayed, "--orphans", "--delete")
    assert removed.returncode == 0, removed.stderr
    assert "removed %s" % orphan in removed.stdout
    assert not orphan.exists() and not partial.exists()
    assert foreign.exists() and _data_file(delayed, keep["id"]).exists()
    assert requests.get(delayed.url + "/v1/images/" + keep["id"]).content == b"an image with data"
    foreign.unlink()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path("/proc/%s/stat" % entry).read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_an_api_killed_mid_upload_is_swept_after_restart(delayed):
    image_id = str(uuid.uuid4())
    upload = ChunkedUpload(delayed.url, image_id)
    upload.send(b"p" * 65536)
    assert poll_until(lambda: _status(delayed, image_id) == "saving")
    partials = lambda: [f for f in os.listdir(delayed.images_dir) if image_id in f]  # noqa: E731
    assert poll_until(lambda: partials() != [])

    master = delayed.api.process.pid
    workers = _children(master)
    assert workers
    for pid in workers + [master]:
        os.kill(pid, signal.SIGKILL)
    delayed.api.process.wait(10)
    upload.close()
    assert _status_from_registry(delayed, image_id) == "saving"
    assert partials() != []  # nobody was left to clean up

    api = delayed.api
    delayed.api = daemons.start("glance-api", api.process.args, api.config, api.port, api.log)
    assert poll_until(lambda: _status(delayed, image_id) == "killed", timeout=30)
    assert poll_until(lambda: partials() == [], timeout=10)


def _status_from_registry(pair: Glance, image_id: str) -> str:
    return pair.registry_get(image_id)["status"]
