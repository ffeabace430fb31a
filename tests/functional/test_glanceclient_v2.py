"""The real ``glance`` command (python-glanceclient 4.13.0, Images API v2)
against the real daemons behind a real Keystone: spec v2 section 17.2.

Users: admin (project admin), alice (tenant-a, member), bob (tenant-b,
member), carol (tenant-c, reader only). The clients log in with passwords
and find the image endpoint in Keystone's catalog, which points at the
test's api (tests/clients.py). HOME is a fresh directory per database, so
glanceclient's schema cache (~/.glanceclient) starts empty.

Client runs cost one to two seconds each, so the whole acceptance list runs
on SQLite, and PostgreSQL gets one smoke flow (create with data, list,
update, share, download, delete) that crosses every registry query the
heavy flows use; the registry's SQL is shared between the two databases.

Import (import-info, image-create-via-import, image-stage, image-import)
runs here on this single-store cloud; image-tasks needs v2.12, listed in
multi-store mode only, so it runs in test_api_v2_import.py, and the stores
commands in test_api_v2_stores.py.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from tests.clients import Clouds
from tests.clients import qcow2
from tests.clients import rows
from tests.clients import run
from tests.clients import table
from tests.waiting import poll_until


@pytest.fixture(scope="module")
def clouds(request, tmp_path_factory):
    """One Keystone + pair per database, started on first use in this module."""
    started = Clouds(request, tmp_path_factory, "glance2-")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def cloud(clouds):
    """The cloud the full acceptance flows run on (see the module docstring)."""
    return clouds("sqlite")


@pytest.fixture
def glance(glance_v2_cli, cloud):
    def _glance(user, *args, check=True):
        return run(glance_v2_cli, cloud, user, *args, check=check)
    return _glance




def _upload(cloud, user, image_id, data):
    resp = cloud.api(user, "PUT", "/v2/images/%s/file" % image_id, data=data,
                headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 204, resp.text



def _failed(proc, status: str) -> bool:
    return proc.returncode != 0 and status in proc.stderr + proc.stdout


def test_create_with_file_download_show_delete(glance, cloud, tmp_path):
    data = qcow2(payload=300 * 1024 + 7)
    source = tmp_path / "disk.qcow2"
    source.write_bytes(data)
    name = "gl-create-file-%s" % uuid.uuid4().hex[:6]
    created = table(glance("alice", "image-create", "--name", name, "--disk-format", "qcow2",
                           "--container-format", "bare", "--file", str(source),
                           "--property", "k=v", "--tags", "t1", "t2",
                           "--visibility", "private", "--progress").stdout)
    assert created["status"] == "active"
    assert created["name"] == name and created["k"] == "v"
    assert created["visibility"] == "private"
    assert created["owner"] == cloud.project_id("tenant-a")
    assert created["size"] == str(len(data))
    assert created["checksum"] == hashlib.md5(data).hexdigest()
    assert created["os_hash_algo"] == "sha512"
    assert created["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert sorted(json.loads(created["tags"])) == ["t1", "t2"]
    image_id = created["id"]
    virtual_size = cloud.show("alice", image_id)["virtual_size"]

    out = tmp_path / "out.qcow2"
    glance("alice", "image-download", "--file", str(out), image_id)
    assert out.read_bytes() == data
    assert hashlib.sha512(out.read_bytes()).hexdigest() == created["os_hash_value"]

    shown = table(glance("alice", "image-show", image_id).stdout)
    assert shown["id"] == image_id and shown["status"] == "active"

    # Another project cannot see the private image at all.
    missing = glance("bob", "image-show", image_id, check=False)
    assert _failed(missing, "No image with a name or ID") or _failed(missing, "404")

    glance("alice", "image-delete", image_id)
    gone = glance("alice", "image-delete", image_id, check=False)
    # 4.13 looks the image up first and reports the 404 of that GET.
    assert gone.returncode != 0 and ("Failed to find image" in gone.stderr
                                     or "No image with an ID" in gone.stderr)
    # spec 2.1 / 5.1: virtual_size comes from the qcow2 header (checked last,
    # so a gap here does not hide the rest of the flow).
    assert virtual_size == 64 * 1024 * 1024


def test_create_without_file_then_upload(glance, cloud, tmp_path):
    """Terminal stdin: no data is read; image-upload adds it later (spec 17.2)."""
    created = table(glance("alice", "image-create", "--name", "gl-nofile",
                           "--disk-format", "raw", "--container-format", "bare").stdout)
    assert created["status"] == "queued"
    image_id = created["id"]
    bare = table(glance("alice", "image-create", "--name", "gl-bare").stdout)
    assert bare["status"] == "queued" and bare["disk_format"] in ("None", "")
    assert bare["visibility"] == "shared"  # spec 0.3

    nodata = glance("alice", "image-download", "--file", str(tmp_path / "x"), image_id,
                    check=False)
    assert nodata.returncode == 1 and "has no data" in nodata.stderr

    not_active = glance("alice", "image-deactivate", image_id, check=False)
    assert _failed(not_active, "403")

    data = b"raw bytes " * 1000
    source = tmp_path / "f.raw"
    source.write_bytes(data)
    glance("alice", "image-upload", "--file", str(source), image_id)
    image = cloud.show("alice", image_id)
    assert image["status"] == "active" and image["size"] == len(data)
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()

    again = glance("alice", "image-upload", "--file", str(source), image_id, check=False)
    assert _failed(again, "409")
    assert "Image status transition from active to saving is not allowed" in again.stderr
    assert image["virtual_size"] == len(data)  # raw: virtual_size = size (spec 2.1)


def test_update_protect_and_member_role_limits(glance, cloud):
    image = cloud.create("alice", name="gl-upd", k="v", tags=["keep"])
    image_id = image["id"]
    updated = table(glance("alice", "image-update", "--name", "gl-upd-2", "--property", "a=b",
                           "--remove-property", "k", "--min-ram", "256", "--min-disk", "1",
                           "--protected", "True", image_id).stdout)
    assert updated["name"] == "gl-upd-2" and updated["a"] == "b" and "k" not in updated
    assert updated["min_ram"] == "256" and updated["min_disk"] == "1"
    assert updated["protected"] == "True"
    assert json.loads(updated["tags"]) == ["keep"]  # the appended tags replace (15.1.5)

    # Removing a missing property: glanceclient still sends the tags replace.
    glance("alice", "image-update", "--remove-property", "nosuch", image_id, check=False)

    # glanceclient prints its own sentence for a 403 on delete.
    forbidden = "You are not permitted to delete the image"
    protected = glance("alice", "image-delete", image_id, check=False)
    assert protected.returncode != 0 and forbidden in protected.stderr
    protected_admin = glance("admin", "image-delete", image_id, check=False)
    assert protected_admin.returncode != 0 and forbidden in protected_admin.stderr

    public = glance("alice", "image-update", "--visibility", "public", image_id, check=False)
    assert _failed(public, "403")
    owner = glance("alice", "image-update", "--owner", cloud.project_id("tenant-b"),
                   image_id, check=False)
    assert _failed(owner, "403")
    image = cloud.show("alice", image_id)
    assert image["visibility"] == "shared" and image["owner"] == cloud.project_id("tenant-a")

    # What the member may not do, the admin may.
    glance("admin", "image-update", "--visibility", "public", "--protected", "False",
           image_id)
    assert cloud.show("carol", image_id)["visibility"] == "public"
    glance("alice", "image-delete", image_id)


def test_list_filters_and_paging(glance, cloud):
    batch = uuid.uuid4().hex[:8]
    ids = []
    for i, tags in enumerate((["a", "b"], ["a"], ["b"], ["a", "b"], [])):
        ids.append(cloud.create("alice", name="%s-%d" % (batch, i), batch=batch,
                           tags=tags, min_ram=i)["id"])
    _upload(cloud, "alice", ids[0], b"zero")
    hidden = cloud.create("alice", name=batch + "-hidden", batch=batch, os_hidden=True)
    mine = set(ids)

    def listed(*args, user="alice"):
        found = rows(glance(user, "image-list", "--property-filter", "batch=" + batch,
                            *args).stdout)
        return [r["ID"] for r in found]

    assert set(listed()) == mine
    assert set(listed("--page-size", "2")) == mine
    assert len(listed("--limit", "3", "--page-size", "2")) == 3
    assert set(listed("--tag", "a", "--tag", "b")) == {ids[0], ids[3]}
    assert listed("--sort-key", "name", "--sort-dir", "desc") == ids[::-1]
    assert listed("--sort", "name:asc") == ids
    assert set(listed("--visibility", "shared", "--owner", cloud.project_id("tenant-a"))) == mine
    assert listed("--hidden", "True") == [hidden["id"]]
    data_sha512 = hashlib.sha512(b"zero").hexdigest()
    assert listed("--hash", data_sha512) == [ids[0]]
    assert listed("--checksum", hashlib.md5(b"zero").hexdigest()) == [ids[0]]
    # Not shared with bob: nothing, whatever the member status.
    assert listed("--member-status", "all", user="bob") == []


def test_tags(glance, cloud):
    image_id = cloud.create("alice", name="gl-tags", tags=["t"])["id"]
    glance("alice", "image-tag-update", image_id, "with space")
    assert sorted(cloud.show("alice", image_id)["tags"]) == ["t", "with space"]
    glance("alice", "image-tag-delete", image_id, "t")
    assert cloud.show("alice", image_id)["tags"] == ["with space"]
    absent = glance("alice", "image-tag-delete", image_id, "t", check=False)
    assert _failed(absent, "404")


def test_members(glance, cloud):
    bob_project = cloud.project_id("tenant-b")
    image_id = cloud.create("alice", name="gl-shared-" + uuid.uuid4().hex[:6],
                       visibility="shared")["id"]
    private_id = cloud.create("alice", name="gl-private", visibility="private")["id"]

    created = rows(glance("alice", "member-create", image_id, bob_project).stdout)
    assert created[0]["Member ID"] == bob_project and created[0]["Status"] == "pending"
    duplicate = glance("alice", "member-create", image_id, bob_project, check=False)
    assert _failed(duplicate, "409")
    not_shared = glance("alice", "member-create", private_id, bob_project, check=False)
    assert _failed(not_shared, "403")

    # Pending: bob may see it by id but it is not in his default list.
    assert image_id not in glance("bob", "image-list").stdout
    got = table(glance("bob", "member-get", image_id, bob_project).stdout)
    assert got["status"] == "pending" and got["member_id"] == bob_project

    by_owner = glance("alice", "member-update", image_id, bob_project, "accepted",
                      check=False)
    assert _failed(by_owner, "403")
    accepted = rows(glance("bob", "member-update", image_id, bob_project, "accepted").stdout)
    assert accepted[0]["Status"] == "accepted"
    assert image_id in glance("bob", "image-list").stdout

    listed = rows(glance("alice", "member-list", "--image-id", image_id).stdout)
    assert [(r["Member ID"], r["Status"]) for r in listed] == [(bob_project, "accepted")]

    glance("bob", "member-update", image_id, bob_project, "rejected")
    assert image_id not in glance("bob", "image-list").stdout
    # A member cannot change the image it was given (spec 4.4).
    changed = glance("bob", "image-update", "--name", "stolen", image_id, check=False)
    assert _failed(changed, "403")

    glance("alice", "member-delete", image_id, bob_project)
    absent = glance("alice", "member-delete", image_id, bob_project, check=False)
    assert _failed(absent, "404")
    assert cloud.api("bob", "GET", "/v2/images/" + image_id).status_code == 404


def test_deactivate_reactivate(glance, cloud, tmp_path):
    image_id = cloud.create("alice", name="gl-deact")["id"]
    _upload(cloud, "alice", image_id, b"deactivate me")
    glance("alice", "image-deactivate", image_id)
    assert cloud.show("alice", image_id)["status"] == "deactivated"
    denied = glance("alice", "image-download", "--file", str(tmp_path / "a"), image_id,
                    check=False)
    assert _failed(denied, "403")
    glance("admin", "image-download", "--file", str(tmp_path / "b"), image_id)
    assert (tmp_path / "b").read_bytes() == b"deactivate me"
    glance("alice", "image-reactivate", image_id)
    assert cloud.show("alice", image_id)["status"] == "active"


def test_reader_lists_and_shows_but_cannot_create(glance, cloud):
    image_id = cloud.create("admin", name="gl-public-" + uuid.uuid4().hex[:6],
                       visibility="public")["id"]
    assert image_id in glance("carol", "image-list").stdout
    assert table(glance("carol", "image-show", image_id).stdout)["id"] == image_id
    denied = glance("carol", "image-create", "--name", "nope", "--disk-format", "raw",
                    "--container-format", "bare", check=False)
    assert _failed(denied, "403")
    changed = glance("carol", "image-update", "--name", "x", image_id, check=False)
    assert _failed(changed, "403")


# SQLite runs the full flows above; this repeats their core on PostgreSQL.
@pytest.mark.parametrize("kind", ["postgresql"])
def test_smoke_on_each_database(kind, glance_v2_cli, clouds, tmp_path):
    """The short flow on PostgreSQL (the full list runs on SQLite above)."""
    cloud = clouds(kind)
    data = qcow2(payload=4096)
    source = tmp_path / "s.qcow2"
    source.write_bytes(data)
    created = table(run(glance_v2_cli, cloud, "alice", "image-create", "--name", "smoke",
                        "--disk-format", "qcow2", "--container-format", "bare",
                        "--file", str(source), "--property", "k=v", "--tags", "t1").stdout)
    image_id = created["id"]
    assert created["status"] == "active"
    assert created["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image_id in run(glance_v2_cli, cloud, "alice", "image-list",
                           "--property-filter", "k=v", "--tag", "t1").stdout
    run(glance_v2_cli, cloud, "alice", "member-create", image_id,
        cloud.project_id("tenant-b"))
    out = tmp_path / "o"
    run(glance_v2_cli, cloud, "bob", "image-download", "--file", str(out), image_id)
    assert out.read_bytes() == data
    run(glance_v2_cli, cloud, "alice", "image-delete", image_id)
    assert cloud.api("alice", "GET", "/v2/images/" + image_id).status_code == 404


def _active(cloud, image_id: str) -> dict:
    assert poll_until(lambda: cloud.show("alice", image_id)["status"] == "active", 30), \
        cloud.show("alice", image_id)
    return cloud.show("alice", image_id)


def test_import_info_create_via_import_stage_and_import(glance, cloud, tmp_path):
    methods = table(glance("alice", "import-info").stdout)["import-methods"]
    assert all(m in methods for m in ("glance-direct", "web-download", "copy-image")), methods
    data = qcow2(payload=64 * 1024 + 5)
    source = tmp_path / "disk.qcow2"
    source.write_bytes(data)
    created = table(glance("alice", "image-create-via-import", "--name",
                           "via-import-%s" % uuid.uuid4().hex[:6], "--disk-format", "qcow2",
                           "--container-format", "bare", "--file", str(source)).stdout)
    image = _active(cloud, created["id"])
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image["os_glance_failed_import"] == ""

    image_id = cloud.create("alice", disk_format="qcow2")["id"]
    refused = glance("alice", "image-import", "--import-method", "glance-direct", image_id,
                     check=False)
    assert refused.returncode != 0  # glanceclient checks for uploading itself
    glance("alice", "image-stage", "--file", str(source), image_id)
    staged = cloud.show("alice", image_id)
    assert (staged["status"], staged["size"], staged["checksum"]) == (
        "uploading", len(data), None)
    glance("alice", "image-import", "--import-method", "glance-direct", image_id)
    _active(cloud, image_id)
    out = tmp_path / "o"
    glance("alice", "image-download", "--file", str(out), image_id)
    assert out.read_bytes() == data
