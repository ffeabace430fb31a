"""The real ``openstack`` command (python-openstackclient 10.5.0 on openstacksdk
4.22.0) against the real daemons behind a real Keystone: spec v2 section 17.1.

Users: admin (project admin), alice (tenant-a, member), bob (tenant-b,
member), carol (tenant-c, reader only). OSC logs in with a password and
finds the image endpoint in Keystone's catalog (unversioned, so it goes
through version discovery), which points at the test's api
(tests/clients.py); project names given to ``--project`` are resolved
through Keystone, as in a deployment.

An OSC run costs two to three seconds, so the whole acceptance list runs
on SQLite and PostgreSQL gets one smoke flow (create with data, list with
filters, set, share and accept, save, delete) that crosses every registry
query the heavy flows use; the registry's SQL is shared between the two
databases.

Import (``image import info``, ``image create --import``, ``image stage``,
``image import``) runs here on this single-store cloud; the stores
commands run in test_api_v2_stores.py (multi-store).
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from tests.clients import Clouds
from tests.clients import qcow2
from tests.clients import run
from tests.waiting import poll_until


@pytest.fixture(scope="module")
def clouds(request, tmp_path_factory):
    """One Keystone + pair per database, started on first use in this module."""
    started = Clouds(request, tmp_path_factory, "osc-")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def cloud(clouds):
    """The cloud the full acceptance flows run on (see the module docstring)."""
    return clouds("sqlite")


def _osc(client, cloud, user, *args, check=True):
    return run(client, cloud, user, *args, check=check)


@pytest.fixture
def osc(openstack_cli, cloud):
    def _run(user, *args, check=True):
        return _osc(openstack_cli, cloud, user, *args, check=check)
    return _run


def _json(proc):
    return json.loads(proc.stdout)


def _ids(proc):
    return [row["ID"] for row in json.loads(proc.stdout)]





def _failed(proc, *texts) -> bool:
    output = proc.stderr + proc.stdout
    return proc.returncode != 0 and all(t in output for t in texts)


def test_create_with_file_save_show_delete(osc, cloud, tmp_path):
    data = qcow2(payload=200 * 1024 + 3)
    source = tmp_path / "disk.qcow2"
    source.write_bytes(data)
    name = "osc-create-%s" % uuid.uuid4().hex[:6]
    created = _json(osc("alice", "image", "create", "--file", str(source), "--disk-format",
                        "qcow2", "--container-format", "bare", "--property", "k=v",
                        "--tag", "t", "--private", name, "-f", "json"))
    image_id = created["id"]
    assert created["status"] == "active" and created["visibility"] == "private"
    assert created["size"] == len(data) and created["tags"] == ["t"]
    assert created["checksum"] == hashlib.md5(data).hexdigest()
    props = created["properties"]
    assert props["k"] == "v" and props["os_hash_algo"] == "sha512"
    assert props["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert props["owner_specified.openstack.object"] == "images/" + name
    assert created["owner"] == cloud.project_id("tenant-a")

    by_name = _json(osc("alice", "image", "show", name, "-f", "json"))
    assert by_name["id"] == image_id
    by_id = _json(osc("alice", "image", "show", image_id, "-f", "json"))
    assert by_id["name"] == name

    out = tmp_path / "saved"
    osc("alice", "image", "save", "--file", str(out), image_id)
    assert out.read_bytes() == data
    assert hashlib.sha512(out.read_bytes()).hexdigest() == props["os_hash_value"]

    hidden_from_bob = osc("bob", "image", "show", image_id, check=False)
    assert hidden_from_bob.returncode != 0

    osc("alice", "image", "delete", image_id)
    assert cloud.api("alice", "GET", "/v2/images/" + image_id).status_code == 404
    unknown = osc("alice", "image", "delete", image_id, check=False)
    assert unknown.returncode == 1


def test_create_without_file_and_defaults(osc, cloud):
    """Terminal stdin: metadata only, raw/bare defaults (spec 15.2.1)."""
    created = _json(osc("alice", "image", "create", "osc-nofile-" + uuid.uuid4().hex[:6],
                        "-f", "json"))
    assert created["status"] == "queued"
    assert created["disk_format"] == "raw" and created["container_format"] == "bare"
    assert created["visibility"] == "shared"  # spec 0.3


def test_virtual_size_after_upload(openstack_cli, cloud, tmp_path):
    """spec 2.1 / 5.1 / 17.1 step 3: virtual_size from the qcow2 header."""
    data = qcow2(virtual_size=32 * 1024 * 1024, payload=100)
    source = tmp_path / "v.qcow2"
    source.write_bytes(data)
    created = _json(_osc(openstack_cli, cloud, "alice", "image", "create", "--file",
                         str(source), "--disk-format", "qcow2", "osc-vsize", "-f", "json"))
    assert cloud.show("alice", created["id"])["virtual_size"] == 32 * 1024 * 1024


def test_list_filters_and_paging(osc, cloud):
    batch = uuid.uuid4().hex[:8]
    mine = []
    for i in range(3):
        mine.append(cloud.create("alice", name="%s-%d" % (batch, i), batch=batch,
                            tags=["even"] if i % 2 == 0 else [],
                            visibility="private" if i == 1 else "shared")["id"])
    hidden = cloud.create("alice", name=batch + "-hidden", os_hidden=True)["id"]
    # More than one default page (25) in alice's view, so plain `image list`
    # must follow `next`.
    filler = [cloud.create("alice", name="%s-fill-%02d" % (batch, i))["id"]
              for i in range(24)]

    everything = _ids(osc("alice", "image", "list", "-f", "json"))
    assert set(mine + filler) <= set(everything) and hidden not in everything
    assert len(everything) == len(set(everything))

    assert _ids(osc("alice", "image", "list", "--name", batch + "-1", "-f", "json")) == [mine[1]]
    assert set(_ids(osc("alice", "image", "list", "--tag", "even", "-f", "json"))) >= {
        mine[0], mine[2]}
    private = _ids(osc("alice", "image", "list", "--private", "-f", "json"))
    assert mine[1] in private and mine[0] not in private
    assert _ids(osc("alice", "image", "list", "--hidden", "-f", "json")) == [hidden]
    # The admin may resolve project names through Keystone (a member may not:
    # Keystone's policy lets it list no projects, so members pass ids).
    by_project = _ids(osc("admin", "image", "list", "--project", "tenant-a", "--status",
                          "queued", "-f", "json"))
    assert set(mine + filler) <= set(by_project)
    first = _ids(osc("alice", "image", "list", "--limit", "1", "-f", "json"))
    assert len(first) == 1
    second = _ids(osc("alice", "image", "list", "--limit", "1", "--marker", first[0],
                      "-f", "json"))
    assert len(second) == 1 and second != first
    # Client-side filter and sort over every page.
    by_property = osc("alice", "image", "list", "--property", "batch=" + batch, "--sort",
                      "name:desc", "--long", "-f", "json")
    assert _ids(by_property) == mine[::-1]


def test_set_unset_and_member_role_limits(osc, cloud):
    image_id = cloud.create("alice", name="osc-set", k="v", tags=["t"])["id"]
    osc("alice", "image", "set", "--name", "osc-set-2", "--property", "a=b", "--property",
        "c=d", "--tag", "t2", "--min-ram", "512", "--min-disk", "1", "--protected",
        "--community", image_id)
    image = cloud.show("alice", image_id)
    assert image["name"] == "osc-set-2" and image["a"] == "b" and image["c"] == "d"
    assert sorted(image["tags"]) == ["t", "t2"]
    assert (image["min_ram"], image["min_disk"], image["protected"]) == (512, 1, True)
    assert image["visibility"] == "community"

    protected = osc("alice", "image", "delete", image_id, check=False)
    assert _failed(protected, "Failed to delete")
    assert cloud.show("alice", image_id)["status"] == "queued"

    public = osc("alice", "image", "set", "--public", image_id, check=False)
    assert _failed(public, "403")
    owner = osc("alice", "image", "set", "--project", cloud.project_id("tenant-b"), image_id,
                check=False)
    assert _failed(owner, "403")

    osc("alice", "image", "unset", "--property", "k", "--tag", "t", image_id)
    osc("alice", "image", "set", "--unprotected", "--private", image_id)
    image = cloud.show("alice", image_id)
    assert "k" not in image and image["tags"] == ["t2"]
    assert image["protected"] is False and image["visibility"] == "private"

    osc("admin", "image", "set", "--public", image_id)
    assert cloud.show("carol", image_id)["visibility"] == "public"
    osc("alice", "image", "delete", image_id)


def test_deactivate_activate(osc, cloud, tmp_path):
    image_id = cloud.create("alice", name="osc-deact")["id"]
    resp = cloud.api("alice", "PUT", "/v2/images/%s/file" % image_id, data=b"bytes",
                headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 204, resp.text
    osc("alice", "image", "set", "--deactivate", image_id)
    assert cloud.show("alice", image_id)["status"] == "deactivated"
    denied = osc("alice", "image", "save", "--file", str(tmp_path / "x"), image_id,
                 check=False)
    assert denied.returncode != 0
    osc("alice", "image", "set", "--activate", image_id)
    assert cloud.show("alice", image_id)["status"] == "active"


def test_members(osc, cloud):
    bob = cloud.project_id("tenant-b")
    image_id = cloud.create("alice", name="osc-shared-" + uuid.uuid4().hex[:6],
                       visibility="shared")["id"]
    private_id = cloud.create("alice", name="osc-private", visibility="private")["id"]

    # Project ids, not names: under Keystone's default policy a member cannot
    # look other projects up by name (OSC would then send the name as is).
    added = _json(osc("alice", "image", "add", "project", image_id, bob, "-f", "json"))
    assert added["member_id"] == bob and added["status"] == "pending"
    again = osc("alice", "image", "add", "project", image_id, bob, check=False)
    assert _failed(again, "409")
    not_shared = osc("alice", "image", "add", "project", private_id, bob, check=False)
    assert _failed(not_shared, "403")

    assert image_id not in _ids(osc("bob", "image", "list", "-f", "json"))
    pending = _ids(osc("bob", "image", "list", "--member-status", "all", "-f", "json"))
    assert image_id in pending

    by_owner = osc("alice", "image", "set", "--accept", "--project", bob, image_id,
                   check=False)
    assert _failed(by_owner, "403")
    osc("bob", "image", "set", "--accept", "--project", bob, image_id)
    assert image_id in _ids(osc("bob", "image", "list", "--shared", "-f", "json"))

    own_row = _json(osc("bob", "image", "member", "list", image_id, "-f", "json"))
    assert [(r["Member ID"], r["Status"]) for r in own_row] == [(bob, "accepted")]
    got = _json(osc("alice", "image", "member", "get", image_id, bob, "-f", "json"))
    assert got["status"] == "accepted"

    # A member may not change the image it was given (spec 4.4).
    changed = osc("bob", "image", "set", "--name", "stolen", image_id, check=False)
    assert _failed(changed, "403")

    osc("bob", "image", "set", "--reject", "--project", bob, image_id)
    assert image_id not in _ids(osc("bob", "image", "list", "-f", "json"))

    osc("alice", "image", "remove", "project", image_id, bob)
    assert cloud.api("alice", "GET", "/v2/images/%s/members" % image_id).json()[
        "members"] == []


def test_reader_lists_and_shows_but_cannot_create(osc, cloud):
    image_id = cloud.create("admin", name="osc-public-" + uuid.uuid4().hex[:6],
                       visibility="public")["id"]
    assert image_id in _ids(osc("carol", "image", "list", "-f", "json"))
    assert _json(osc("carol", "image", "show", image_id, "-f", "json"))["id"] == image_id
    denied = osc("carol", "image", "create", "nope", check=False)
    assert _failed(denied, "403")


# SQLite runs the full flows above; this repeats their core on PostgreSQL.
@pytest.mark.parametrize("kind", ["postgresql"])
def test_smoke_on_each_database(kind, openstack_cli, clouds, tmp_path):
    """The short flow on PostgreSQL (the full list runs on SQLite above)."""
    cloud = clouds(kind)
    data = qcow2(payload=5000)
    source = tmp_path / "s.qcow2"
    source.write_bytes(data)

    def osc(user, *args, check=True):
        return _osc(openstack_cli, cloud, user, *args, check=check)

    created = _json(osc("alice", "image", "create", "--file", str(source), "--disk-format",
                        "qcow2", "--property", "k=v", "--tag", "t", "--shared",
                        "osc-smoke", "-f", "json"))
    image_id = created["id"]
    assert created["properties"]["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert _ids(osc("alice", "image", "list", "--tag", "t", "--shared", "-f", "json")) == [
        image_id]
    bob = cloud.project_id("tenant-b")
    osc("alice", "image", "add", "project", image_id, bob)
    osc("bob", "image", "set", "--accept", "--project", bob, image_id)
    out = tmp_path / "o"
    osc("bob", "image", "save", "--file", str(out), image_id)
    assert out.read_bytes() == data
    osc("alice", "image", "delete", image_id)
    assert cloud.api("alice", "GET", "/v2/images/" + image_id).status_code == 404


def _active(cloud, image_id: str) -> dict:
    assert poll_until(lambda: cloud.show("alice", image_id)["status"] == "active", 30), \
        cloud.show("alice", image_id)
    return cloud.show("alice", image_id)


def test_import_info_create_import_stage_and_import(osc, cloud, tmp_path):
    info = osc("alice", "image", "import", "info", "-f", "json").stdout
    assert "glance-direct" in info and "web-download" in info
    data = qcow2(payload=48 * 1024 + 1)
    source = tmp_path / "disk.qcow2"
    source.write_bytes(data)
    created = _json(osc("alice", "image", "create", "--import", "--file", str(source),
                        "--disk-format", "qcow2", "osc-import-%s" % uuid.uuid4().hex[:6],
                        "-f", "json"))
    image = _active(cloud, created["id"])
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()

    image_id = cloud.create("alice", disk_format="qcow2")["id"]
    osc("alice", "image", "stage", "--file", str(source), image_id)
    assert cloud.show("alice", image_id)["status"] == "uploading"
    osc("alice", "image", "import", "--method", "glance-direct", image_id)
    _active(cloud, image_id)
    out = tmp_path / "o"
    osc("alice", "image", "save", "--file", str(out), image_id)
    assert out.read_bytes() == data
