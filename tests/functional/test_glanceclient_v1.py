"""The real classic client (python-glanceclient 2.17.1, Images API v1) against
the real daemons: the acceptance exchanges of spec v1 section 11.

The client lives in a virtual environment of its own, so its ``glance``
script never shadows this project's commands.
"""

from __future__ import annotations

import hashlib
import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

CLIENT_VERSION = "2.17.1"
CACHE = Path(os.environ.get("GLANCE_TEST_CACHE", Path.home() / ".cache" / "glance-lite-tests"))


@pytest.fixture(scope="session")
def glance_cli() -> Path:
    """The classic ``glance`` script, installed once per machine."""
    venv = CACHE / ("glanceclient-%s" % CLIENT_VERSION)
    script = venv / "bin" / "glance"
    if not script.exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                        "python-glanceclient==%s" % CLIENT_VERSION], check=True)
    return script


@pytest.fixture
def run(glance_cli, glance, tmp_path):
    """Run one classic client command; returns the CompletedProcess."""
    env = dict(os.environ, OS_IMAGE_URL=glance.url, OS_AUTH_TOKEN="admin",
               OS_IMAGE_API_VERSION="1")
    for name in ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"):
        env.pop(name, None)

    def _run(*args, stdin=subprocess.DEVNULL, check=True):
        # image-update refuses to run unless stdin is a terminal (spec 10).
        tty = None
        if stdin == "tty":
            tty, stdin = pty.openpty()
        try:
            proc = subprocess.run([str(glance_cli), *args], env=env, stdin=stdin,
                                  capture_output=True, text=True, timeout=120,
                                  cwd=tmp_path)
        finally:
            if tty is not None:
                os.close(tty)
                os.close(stdin)
        if check:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    return _run


def _table(output: str) -> dict[str, str]:
    """A 'Property | Value' table as a dict."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 2 and cells[0] != "Property":
                rows[cells[0]] = cells[1]
    return rows


def test_create_show_list_download_delete(run, tmp_path, glance):
    data = os.urandom(300 * 1024 + 7)
    source = tmp_path / "disk.img"
    source.write_bytes(data)
    name = "seed one %s" % uuid.uuid4().hex[:6]
    created = _table(run("image-create", "--name", name, "--disk-format", "raw",
                         "--container-format", "bare", "--file", str(source),
                         "--progress").stdout)
    assert created["status"] == "active"
    assert created["name"] == name
    assert created["checksum"] == hashlib.md5(data).hexdigest()
    assert created["size"] == str(len(data))
    image_id = created["id"]

    shown = _table(run("image-show", image_id).stdout)
    assert shown["name"] == name and shown["is_public"] == "False"
    by_name = _table(run("image-show", name).stdout)
    assert by_name["id"] == image_id

    listing = run("image-list", "--name", name).stdout
    assert image_id in listing

    out = tmp_path / "out.img"
    run("image-download", image_id, "--file", str(out), "--progress")
    assert out.read_bytes() == data

    run("image-delete", image_id)
    # Admins (noauth's caller) still see a deleted image's record (spec 4.3).
    assert _table(run("image-show", image_id).stdout)["status"] == "deleted"
    assert image_id not in run("image-list").stdout


def test_create_with_every_option_and_update(run, tmp_path):
    source = tmp_path / "f.img"
    source.write_bytes(b"0123456789")
    image_id = str(uuid.uuid4())
    created = _table(run(
        "image-create", "--id", image_id, "--name", "full", "--owner", "tenant-x",
        "--min-disk", "2", "--min-ram", "512", "--is-protected", "True",
        "--property", "os_distro=ubuntu", "--property", "Hw-Arch=x86_64",
        "--checksum", hashlib.md5(b"0123456789").hexdigest(), "--store", "file",
        "--disk-format", "raw", "--container-format", "bare", "--file", str(source)).stdout)
    assert created["id"] == image_id
    assert created["owner"] == "tenant-x"
    assert created["protected"] == "True"
    assert created["Property 'os_distro'"] == "ubuntu"
    assert created["Property 'hw_arch'"] == "x86_64"

    updated = _table(run("image-update", image_id, "--name", "renamed", "--min-ram", "1024",
                         "--is-protected", "False", "--property", "extra=1",
                         stdin="tty").stdout)
    assert updated["name"] == "renamed" and updated["min_ram"] == "1024"
    assert updated["Property 'extra'"] == "1" and updated["Property 'os_distro'"] == "ubuntu"
    purged = _table(run("image-update", image_id, "--purge-props", "--property", "only=1",
                        stdin="tty").stdout)
    assert "Property 'os_distro'" not in purged and purged["Property 'only'"] == "1"


def test_errors_the_user_sees(run, tmp_path):
    source = tmp_path / "f.img"
    source.write_bytes(b"abc")
    bad = run("image-create", "--name", "x", "--disk-format", "qcow3",
              "--container-format", "bare", "--file", str(source), check=False)
    assert bad.returncode != 0
    assert "Invalid disk format 'qcow3'" in bad.stderr
    wrong = run("image-create", "--name", "x", "--disk-format", "raw",
                "--container-format", "bare", "--checksum", "0" * 32,
                "--file", str(source), check=False)
    assert wrong.returncode != 0 and "400" in wrong.stderr
    missing = run("image-show", str(uuid.uuid4()), check=False)
    assert missing.returncode != 0 and "No image with a name or ID" in missing.stderr


def test_stdin_dev_null_creates_an_active_empty_image(run):
    created = _table(run("image-create", "--name", "empty", "--disk-format", "raw",
                         "--container-format", "bare").stdout)
    assert created["status"] == "active" and created["size"] == "0"


def test_list_paging_and_filters(run):
    tag = uuid.uuid4().hex[:8]
    ids = set()
    for i in range(5):
        ids.add(_table(run("image-create", "--name", "%s-%d" % (tag, i), "--disk-format",
                           "raw", "--container-format", "bare",
                           "--property", "batch=%s" % tag).stdout)["id"])
    listing = run("image-list", "--page-size", "2", "--property-filter",
                  "batch=%s" % tag).stdout
    assert {i for i in ids if i in listing} == ids
    sized = run("image-list", "--property-filter", "batch=%s" % tag, "--size-min", "1").stdout
    assert not any(i in sized for i in ids)


def test_members(run, glance):
    image_id = _table(run("image-create", "--name", "shared", "--disk-format", "raw",
                          "--container-format", "bare").stdout)["id"]
    run("member-create", image_id, "tenant-b", "--can-share")
    listed = run("member-list", "--image-id", image_id).stdout
    assert "tenant-b" in listed and "True" in listed
    by_tenant = run("member-list", "--tenant-id", "tenant-b").stdout
    assert image_id in by_tenant
    run("member-delete", image_id, "tenant-b")
    assert "tenant-b" not in run("member-list", "--image-id", image_id).stdout
    members = requests.get(glance.url + "/v1/images/%s/members" % image_id).json()
    assert members == {"members": []}
