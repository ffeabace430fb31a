"""The ``glance`` command speaking Images API v2 to a real registry + api pair.

The pair lists v2 in /versions, so the command chooses v2 by itself (no
version option). Each test runs ``python -m glance_cli`` in a subprocess,
as a user would, and checks what it printed, its exit status and what the
server then holds. The pair runs noauth: every request is an admin without
a project (member isolation between projects is test_glanceclient_v2's and
test_keystone_isolation_v2's business).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pty
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests

from tests.clients import rows
from tests.clients import table
from tests.pairs import Glance
from tests.pairs import database

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """One pair on SQLite for the whole module."""
    pair = Glance(tmp_path_factory.mktemp("cli-v2"), database(request, tmp_path_factory,
                                                              "sqlite"))
    yield pair
    pair.stop()


def run_cli(args, cwd, env=None, stdin="tty") -> subprocess.CompletedProcess:
    """``python -m glance_cli ARGS`` with a terminal on stdin unless told otherwise."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environ["PYTHONPATH"] = str(REPO_ROOT)
    environ.update(env or {})
    leader = follower = None
    if stdin == "tty":
        leader, follower = pty.openpty()
        stdin = follower
    try:
        return subprocess.run([sys.executable, "-m", "glance_cli", *args], cwd=cwd,
                              env=environ, stdin=stdin, capture_output=True, text=True,
                              timeout=60)
    finally:
        if leader is not None:
            os.close(leader)
            os.close(follower)


@pytest.fixture
def glance(server, tmp_path):
    def _run(*args, **kw):
        return run_cli(["--os-image-url", server.url, "--os-auth-token", "x", *args],
                       tmp_path, **kw)
    return _run


def ok(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def one_line_error(proc, code: int = 1) -> str:
    """The single stderr line of a failed command (never a traceback)."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def v2(server, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, server.url + path, timeout=30, **kw)


def shown(server, image_id: str) -> dict:
    resp = v2(server, "GET", "/v2/images/" + image_id)
    assert resp.status_code == 200, resp.text
    return resp.json()


def reserve(server, **fields) -> str:
    """A queued raw/bare v2 image made directly over HTTP."""
    body = {"disk_format": "raw", "container_format": "bare", **fields}
    resp = v2(server, "POST", "/v2/images", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def active(server, data: bytes = b"some image bytes", **fields) -> str:
    image_id = reserve(server, **fields)
    resp = v2(server, "PUT", "/v2/images/%s/file" % image_id, data=data,
              headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 204, resp.text
    return image_id


# -- image-create, show, list -----------------------------------------------------

def test_create_with_a_file_uploads_it_and_prints_the_v2_image(glance, server, tmp_path):
    data = os.urandom(2 * 1024 * 1024 + 11)
    source = tmp_path / "disk.img"
    source.write_bytes(data)
    name = "v2-create-" + uuid.uuid4().hex[:6]
    proc = glance("image-create", "--name", name, "--disk-format", "raw",
                  "--container-format", "bare", "--visibility", "private",
                  "--protected", "False", "--min-ram", "256", "--tags", "t1", "t2",
                  "--property", "k=v", "--os-distro", "cirros", "--file", str(source),
                  "--progress")
    printed = table(ok(proc))
    assert printed["status"] == "active" and printed["name"] == name
    assert printed["size"] == str(len(data))
    assert printed["checksum"] == hashlib.md5(data).hexdigest()
    assert printed["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert sorted(json.loads(printed["tags"])) == ["t1", "t2"]
    assert (printed["k"], printed["os_distro"], printed["min_ram"]) == ("v", "cirros", "256")
    assert "self" not in printed and "file" not in printed
    assert "100%" in proc.stderr and "100%" not in proc.stdout
    image = shown(server, printed["id"])
    assert image["visibility"] == "private" and image["k"] == "v"
    assert (Path(server.images_dir) / image["id"]).read_bytes() == data


def test_create_without_data_reserves_a_queued_image(glance, server):
    printed = table(ok(glance("image-create", "--name", "reserved", "--hidden", "True")))
    assert printed["status"] == "queued" and printed["os_hidden"] == "True"
    assert printed["virtual_size"] == "Not available"
    assert shown(server, printed["id"])["os_hidden"] is True


def test_a_refused_upload_leaves_the_image_queued_without_bytes(glance, server, tmp_path):
    source = tmp_path / "raw.img"
    source.write_bytes(os.urandom(64 * 1024))
    proc = glance("image-create", "--name", "liar", "--disk-format", "qcow2",
                  "--container-format", "bare", "--file", str(source))
    line = one_line_error(proc)
    image_id = line.split()[1]
    assert line.startswith("Image %s was created, but uploading its data failed" % image_id)
    assert "HTTP 415" in line and proc.stdout == ""
    image = shown(server, image_id)
    assert image["status"] == "queued" and image["checksum"] is None
    assert not (Path(server.images_dir) / image_id).exists()


def test_show_by_name_and_human_readable(glance, server):
    name = "show me " + uuid.uuid4().hex[:6]
    image_id = active(server, b"x" * 3000, name=name)
    printed = table(ok(glance("image-show", name, "--human-readable")))
    assert printed["id"] == image_id and printed["size"] == "2.9kB"
    line = one_line_error(glance("image-show", "no such " + uuid.uuid4().hex))
    assert line.startswith("No image with a name or ID of 'no such ")


def test_list_filters_sorts_and_limits_on_the_server(glance, server):
    batch = uuid.uuid4().hex[:8]
    ids = {name: reserve(server, name=name, batch=batch, tags=tags) for name, tags in (
        ("b-" + batch, ["x"]), ("a-" + batch, ["x", "y"]), ("c-" + batch, []))}
    listed = rows(ok(glance("image-list", "--property-filter", "batch=" + batch)))
    assert [r["Name"] for r in listed] == sorted(ids)
    assert list(listed[0]) == ["ID", "Name"]
    tagged = rows(ok(glance("image-list", "--property-filter", "batch=" + batch,
                            "--tag", "x", "--tag", "y")))
    assert [r["ID"] for r in tagged] == [ids["a-" + batch]]
    paged = rows(ok(glance("--verbose", "image-list", "--property-filter", "batch=" + batch,
                           "--sort", "name:desc", "--page-size", "1", "--limit", "2")))
    assert [r["Name"] for r in paged] == ["c-" + batch, "b-" + batch]
    assert paged[0]["Status"] == "queued" and "Disk_format" in paged[0]


# -- image-update ---------------------------------------------------------------------

def test_update_changes_fields_and_properties(glance, server):
    image_id = reserve(server, name="before", old="x", keep="y")
    printed = table(ok(glance("image-update", image_id, "--name", "after", "--min-disk", "2",
                              "--property", "new=1", "--remove-property", "old",
                              "--remove-property", "never-there")))
    assert printed["name"] == "after" and printed["new"] == "1"
    image = shown(server, image_id)
    assert (image["name"], image["min_disk"], image["keep"]) == ("after", 2, "y")
    assert "old" not in image


def test_update_of_a_reserved_property_is_refused_cleanly(glance, server):
    image_id = reserve(server)
    line = one_line_error(glance("image-update", image_id, "--property",
                                 "os_glance_secret=1"))
    assert line.startswith("HTTP 403 Forbidden: ")
    assert "os_glance_secret" not in shown(server, image_id)


# -- data: upload, download -------------------------------------------------------------

def test_upload_then_download_round_trips_and_verifies(glance, server, tmp_path):
    image_id = reserve(server)
    data = os.urandom(300 * 1024 + 3)
    source, out = tmp_path / "in.img", tmp_path / "out.img"
    source.write_bytes(data)
    ok(glance("image-upload", image_id, "--file", str(source), "--progress"))
    assert shown(server, image_id)["status"] == "active"
    ok(glance("image-download", image_id, "--file", str(out), "--progress"))
    assert out.read_bytes() == data
    again = one_line_error(glance("image-upload", image_id, "--file", str(source)))
    assert again.startswith("HTTP 409 Conflict: ")


def test_upload_from_a_pipe(glance, server, tmp_path):
    image_id = reserve(server)
    source = tmp_path / "in.img"
    source.write_bytes(b"piped data")
    with open(source, "rb") as pipe_in:
        cat = subprocess.Popen(["cat"], stdin=pipe_in, stdout=subprocess.PIPE)
        try:
            ok(glance("image-upload", image_id, stdin=cat.stdout))
        finally:
            cat.stdout.close()
            cat.wait()
    assert shown(server, image_id)["size"] == len(b"piped data")


def test_download_of_an_image_without_data(glance, server, tmp_path):
    image_id = reserve(server)
    out = tmp_path / "out.img"
    assert one_line_error(glance("image-download", image_id, "--file", str(out))) == (
        "Image %s has no data." % image_id)
    assert not out.exists()


# -- deactivate, tags, delete --------------------------------------------------------

def test_deactivate_and_reactivate(glance, server):
    image_id = active(server)
    ok(glance("image-deactivate", image_id))
    assert shown(server, image_id)["status"] == "deactivated"
    ok(glance("image-reactivate", image_id))
    assert shown(server, image_id)["status"] == "active"
    queued = reserve(server)
    assert one_line_error(glance("image-deactivate", queued)).startswith(
        "HTTP 403 Forbidden: ")


def test_tag_update_and_delete(glance, server):
    image_id = reserve(server, tags=["old"])
    listed = rows(ok(glance("image-tag-update", image_id, "with space")))
    assert listed[0]["ID"] == image_id
    assert sorted(json.loads(listed[0]["Tags"])) == ["old", "with space"]
    ok(glance("image-tag-delete", image_id, "old"))
    assert shown(server, image_id)["tags"] == ["with space"]
    assert one_line_error(glance("image-tag-delete", image_id, "old")).startswith(
        "HTTP 404 Not Found")


def test_delete_reports_protected_and_missing_images(glance, server):
    gone, kept, missing = reserve(server), reserve(server, protected=True), str(uuid.uuid4())
    proc = glance("image-delete", gone, kept, missing)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("Unable to delete image '%s': HTTP 403 Forbidden" % kept)
    assert lines[1] == "No image with an ID of '%s' exists." % missing
    assert v2(server, "GET", "/v2/images/" + gone).status_code == 404
    assert shown(server, kept)["protected"] is True


# -- members ------------------------------------------------------------------------------

def test_member_create_update_list_and_delete(glance, server):
    image_id = reserve(server, visibility="shared")
    project = "project-" + uuid.uuid4().hex[:6]
    created = rows(ok(glance("member-create", image_id, project)))
    assert created == [{"Image ID": image_id, "Member ID": project, "Status": "pending"}]
    updated = rows(ok(glance("member-update", image_id, project, "accepted")))
    assert updated[0]["Status"] == "accepted"
    listed = rows(ok(glance("member-list", "--image-id", image_id)))
    assert [(r["Member ID"], r["Status"]) for r in listed] == [(project, "accepted")]
    ok(glance("member-delete", image_id, project))
    assert v2(server, "GET", "/v2/images/%s/members" % image_id).json()["members"] == []
    assert one_line_error(glance("member-delete", image_id, project)).startswith(
        "HTTP 404 Not Found")


def test_members_of_a_private_image_are_refused(glance, server):
    image_id = reserve(server, visibility="private")
    assert one_line_error(glance("member-create", image_id, "p")).startswith(
        "HTTP 403 Forbidden: ")


# -- the version switch ---------------------------------------------------------------

def test_version_1_still_speaks_v1_to_the_same_server(glance, server):
    printed = table(ok(glance("--os-image-api-version", "1", "image-create", "--name",
                              "classic", "--is-public", "False", "--disk-format", "raw",
                              "--container-format", "bare")))
    assert printed["is_public"] == "False" and printed["status"] == "queued"
    listed = ok(glance("image-list", "--all-tenants", "--name", "classic",
                       env={"OS_IMAGE_API_VERSION": "1"}))
    header = next(line for line in listed.splitlines() if line.startswith("|"))
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "ID", "Name", "Disk Format", "Container Format", "Size", "Status"]
    assert printed["id"] in listed
    line = one_line_error(glance("image-create", "--is-public", "False"), code=2)
    assert "unrecognized arguments: --is-public" in line and "[Images API v2]" in line


class V1OnlyFront(http.server.ThreadingHTTPServer):
    """The real api behind a front whose /versions lists only v1, as a classic
    Glance answers; every other request is passed on and recorded."""

    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _FrontHandler)
        self.upstream = upstream
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server_address[1]


class _FrontHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length",
                  "content-encoding")

    def log_message(self, *args) -> None:
        pass

    def _forward(self) -> None:
        front: V1OnlyFront = self.server
        front.paths.append(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/versions":
            status, headers, content = 200, {"Content-Type": "application/json"}, json.dumps(
                {"versions": [{"id": "v1.1", "status": "CURRENT", "links": []},
                              {"id": "v1.0", "status": "SUPPORTED", "links": []}]}).encode()
        else:
            sent = {k: v for k, v in self.headers.items() if k.lower() not in self.HOP_BY_HOP}
            sent["Accept-Encoding"] = "identity"
            resp = requests.request(self.command, front.upstream + self.path, headers=sent,
                                    data=body, allow_redirects=False, timeout=30)
            status, content = resp.status_code, resp.content
            headers = {k: v for k, v in resp.headers.items()
                       if k.lower() not in self.HOP_BY_HOP}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


@pytest.fixture
def v1_only(server):
    front = V1OnlyFront(server.url)
    threading.Thread(target=front.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield front
    front.shutdown()
    front.server_close()


def test_no_version_option_against_a_v1_only_server_speaks_v1(v1_only, tmp_path):
    def glance(*args):
        return run_cli(["--os-image-url", v1_only.url, "--os-auth-token", "x", *args],
                       tmp_path)

    name = "classic-" + uuid.uuid4().hex[:6]
    printed = table(ok(glance("image-create", "--name", name, "--is-public", "True",
                              "--disk-format", "raw", "--container-format", "bare")))
    assert printed["is_public"] == "True" and printed["name"] == name
    listed = rows(ok(glance("image-list", "--name", name)))
    assert [(r["ID"], r["Status"]) for r in listed] == [(printed["id"], "queued")]
    assert table(ok(glance("image-show", name)))["id"] == printed["id"]
    assert v1_only.paths.count("/versions") == 3
    assert all(p == "/versions" or p.startswith("/v1/") for p in v1_only.paths)
