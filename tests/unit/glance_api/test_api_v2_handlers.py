"""The v2 handlers through Flask's test client, on the fake registry and a
real file store: status codes, documents and who may do what."""

from __future__ import annotations

import hashlib
import json

import pytest

DATA = bytes(range(256)) * 64
PATCH = "application/openstack-images-v2.1-json-patch"


@pytest.fixture
def as_(keystone):
    def _as(user, project, roles=("member", "reader")):
        return {"X-Auth-Token": keystone.issue(user, project, list(roles)),
                "Accept": "application/json"}
    return _as


def _create(client, headers, **fields):
    return client.post("/v2/images", headers=headers, json=fields)


def _patch(client, headers, image_id, ops):
    return client.patch("/v2/images/" + image_id, data=json.dumps(ops),
                        headers=dict(headers, **{"Content-Type": PATCH}))


def test_a_created_image_is_queued_shared_and_owned_by_the_callers_project(client, as_):
    resp = _create(client, as_("alice", "tenant-a"), name="x", disk_format="raw",
                   container_format="bare", os_distro="cirros")
    assert resp.status_code == 201, resp.text
    image = resp.json
    assert (image["status"], image["visibility"], image["owner"]) == (
        "queued", "shared", "tenant-a")
    assert image["os_distro"] == "cirros"
    assert image["self"] == "/v2/images/" + image["id"]
    assert resp.headers["Location"].endswith("/v2/images/" + image["id"])
    assert resp.headers["Location"].startswith("http")


def test_a_reader_may_look_but_not_create(client, as_, registry):
    resp = _create(client, as_("carol", "tenant-c", ("reader",)), name="x")
    assert resp.status_code == 403
    assert registry.images == {}
    assert client.get("/v2/images", headers=as_("carol", "tenant-c", ("reader",))
                      ).status_code == 200


@pytest.mark.parametrize("fields, code", [
    ({"visibility": "public"}, 403), ({"owner": "tenant-b"}, 403),
    ({"status": "active"}, 403), ({"min_ram": -1}, 400), ({"visibility": "secret"}, 400)])
def test_refused_creates_record_nothing(client, as_, registry, fields, code):
    assert _create(client, as_("alice", "tenant-a"), **fields).status_code == code
    assert registry.images == {}


def test_upload_then_download_round_trips_with_content_md5_and_ranges(client, as_, registry):
    alice = as_("alice", "tenant-a")
    image_id = _create(client, alice, disk_format="raw", container_format="bare").json["id"]
    resp = client.put("/v2/images/%s/file" % image_id, data=DATA,
                      headers=dict(alice, **{"Content-Type": "application/octet-stream"}))
    assert resp.status_code == 204, resp.text
    image = client.get("/v2/images/" + image_id, headers=alice).json
    assert image["status"] == "active" and image["size"] == len(DATA)
    assert image["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    got = client.get("/v2/images/%s/file" % image_id, headers=alice)
    assert got.status_code == 200 and got.data == DATA
    assert got.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    part = client.get("/v2/images/%s/file" % image_id, headers=dict(alice, Range="bytes=10-19"))
    assert part.status_code == 206 and part.data == DATA[10:20]
    assert part.headers["Content-Range"] == "bytes 10-19/%d" % len(DATA)
    tail = client.get("/v2/images/%s/file" % image_id, headers=dict(alice, Range="bytes=-5"))
    assert tail.data == DATA[-5:]
    beyond = client.get("/v2/images/%s/file" % image_id,
                        headers=dict(alice, Range="bytes=%d-" % len(DATA)))
    assert beyond.status_code == 416
    many = client.get("/v2/images/%s/file" % image_id,
                      headers=dict(alice, Range="bytes=0-1,3-4"))
    assert many.status_code == 400


def test_a_failed_upload_puts_the_image_back_to_queued_with_nothing_stored(
        client, as_, registry, datadir):
    alice = as_("alice", "tenant-a")
    image_id = _create(client, alice, disk_format="raw", container_format="bare").json["id"]
    resp = client.put("/v2/images/%s/file" % image_id, data=DATA, headers=dict(
        alice, **{"Content-Type": "application/octet-stream",
                  "x-openstack-image-size": str(len(DATA) + 1)}))
    assert resp.status_code == 400
    after = registry.images[image_id]
    assert (after["status"], after["size"], after["checksum"]) == ("queued", None, None)
    assert list(datadir.iterdir()) == []


def test_upload_preconditions(client, as_, registry):
    alice = as_("alice", "tenant-a")
    no_formats = _create(client, alice).json["id"]
    octet = dict(alice, **{"Content-Type": "application/octet-stream"})
    assert client.put("/v2/images/%s/file" % no_formats, data=b"x",
                      headers=octet).status_code == 400
    assert client.put("/v2/images/%s/file" % no_formats, data=b"x",
                      headers=dict(alice, **{"Content-Type": "application/json"})
                      ).status_code == 415
    active = registry.add(owner="tenant-a", status="active", size=1)
    assert client.put("/v2/images/%s/file" % active["id"], data=b"x",
                      headers=octet).status_code == 409


def test_an_image_without_data_downloads_as_204(client, as_):
    alice = as_("alice", "tenant-a")
    image_id = _create(client, alice).json["id"]
    assert client.get("/v2/images/%s/file" % image_id, headers=alice).status_code == 204


def test_patch_changes_core_and_extra_properties_and_tags(client, as_, registry):
    alice = as_("alice", "tenant-a")
    image_id = _create(client, alice, name="a", tags=["x"]).json["id"]
    resp = _patch(client, alice, image_id, [
        {"op": "replace", "path": "/name", "value": "b"},
        {"op": "add", "path": "/os_distro", "value": "fedora"},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]}])
    assert resp.status_code == 200, resp.text
    assert (resp.json["name"], resp.json["os_distro"]) == ("b", "fedora")
    assert sorted(resp.json["tags"]) == ["x", "y"]
    assert registry.images[image_id]["properties"] == {"os_distro": "fedora"}


def test_patch_needs_the_json_patch_media_type(client, as_):
    alice = as_("alice", "tenant-a")
    image_id = _create(client, alice).json["id"]
    resp = client.patch("/v2/images/" + image_id, json=[], headers=alice)
    assert resp.status_code == 415


def test_another_projects_image_is_404_to_see_and_403_to_change_once_visible(
        client, as_, registry):
    private = registry.add(owner="tenant-a", visibility="private")
    public = registry.add(owner="tenant-a", visibility="public")
    bob = as_("bob", "tenant-b")
    assert client.get("/v2/images/" + private["id"], headers=bob).status_code == 404
    assert _patch(client, bob, private["id"], []).status_code == 404
    assert client.delete("/v2/images/" + private["id"], headers=bob).status_code == 404
    assert client.get("/v2/images/" + public["id"], headers=bob).status_code == 200
    assert _patch(client, bob, public["id"], [
        {"op": "replace", "path": "/name", "value": "mine"}]).status_code == 403
    assert client.delete("/v2/images/" + public["id"], headers=bob).status_code == 403
    assert registry.images[public["id"]]["name"] is None


def test_a_protected_image_refuses_delete_even_for_an_admin(client, as_, registry):
    image = registry.add(owner="tenant-a", protected=True)
    resp = client.delete("/v2/images/" + image["id"], headers=as_("admin", "admin", ("admin",)))
    assert resp.status_code == 403
    assert not registry.images[image["id"]]["deleted"]


def test_deactivate_blocks_downloads_for_non_admins_and_reactivate_restores(
        client, as_, registry):
    alice = as_("alice", "tenant-a")
    image_id = _create(client, alice, disk_format="raw", container_format="bare").json["id"]
    client.put("/v2/images/%s/file" % image_id, data=DATA,
               headers=dict(alice, **{"Content-Type": "application/octet-stream"}))
    path = "/v2/images/%s/actions/" % image_id
    assert client.post(path + "deactivate", headers=alice).status_code == 204
    assert client.post(path + "deactivate", headers=alice).status_code == 204
    assert client.get("/v2/images/%s/file" % image_id, headers=alice).status_code == 403
    admin = as_("admin", "admin", ("admin",))
    assert client.get("/v2/images/%s/file" % image_id, headers=admin).data == DATA
    assert client.post(path + "reactivate", headers=alice).status_code == 204
    assert client.get("/v2/images/%s/file" % image_id, headers=alice).status_code == 200
    queued = _create(client, alice).json["id"]
    assert client.post("/v2/images/%s/actions/deactivate" % queued,
                       headers=alice).status_code == 403


def test_members_the_owner_adds_and_the_member_answers(client, as_, registry):
    alice, bob = as_("alice", "tenant-a"), as_("bob", "tenant-b")
    image_id = _create(client, alice).json["id"]
    resp = client.post("/v2/images/%s/members" % image_id, headers=alice,
                       json={"member": "tenant-b"})
    assert resp.status_code == 200, resp.text
    assert resp.json["status"] == "pending"
    assert client.post("/v2/images/%s/members" % image_id, headers=alice,
                       json={"member": "tenant-b"}).status_code == 409
    path = "/v2/images/%s/members/tenant-b" % image_id
    assert client.put(path, headers=alice, json={"status": "accepted"}).status_code == 403
    assert client.put(path, headers=bob, json={"status": "maybe"}).status_code == 400
    answered = client.put(path, headers=bob, json={"status": "accepted"})
    assert answered.status_code == 200 and answered.json["status"] == "accepted"
    assert client.get("/v2/images/%s/members" % image_id, headers=bob).json["members"][0][
        "member_id"] == "tenant-b"
    assert client.delete(path, headers=bob).status_code == 403
    assert client.delete(path, headers=alice).status_code == 204


def test_only_shared_images_have_members(client, as_):
    alice = as_("alice", "tenant-a")
    image_id = _create(client, alice, visibility="private").json["id"]
    assert client.post("/v2/images/%s/members" % image_id, headers=alice,
                       json={"member": "tenant-b"}).status_code == 403
    assert client.get("/v2/images/%s/members" % image_id, headers=alice).status_code == 403


def test_tags_are_added_idempotently_and_removed(client, as_, registry):
    alice = as_("alice", "tenant-a")
    image_id = _create(client, alice).json["id"]
    for _ in range(2):
        assert client.put("/v2/images/%s/tags/with space" % image_id,
                          headers=alice).status_code == 204
    assert registry.images[image_id]["tags"] == ["with space"]
    assert client.delete("/v2/images/%s/tags/nope" % image_id,
                         headers=alice).status_code == 404
    assert client.delete("/v2/images/%s/tags/with space" % image_id,
                         headers=alice).status_code == 204
    assert registry.images[image_id]["tags"] == []


def test_schemas_are_served_and_versions_list_v2_as_current(client, as_):
    alice = as_("alice", "tenant-a")
    schema = client.get("/v2/schemas/image", headers=alice).json
    assert schema["properties"]["status"]["readOnly"] is True
    assert client.get("/v2/schemas/nothing", headers=alice).status_code == 404
    current = [v for v in client.get("/versions").json["versions"] if v["status"] == "CURRENT"]
    assert current[0]["id"].startswith("v2")
    assert client.get("/v2.1/images", headers=alice).status_code == 200


def test_v2_errors_follow_accept(client, as_):
    headers = as_("alice", "tenant-a")
    missing = "/v2/images/00000000-0000-0000-0000-000000000000"
    assert client.get(missing, headers=headers).is_json
    html = client.get(missing, headers=dict(headers, Accept="*/*"))
    assert html.status_code == 404 and html.mimetype == "text/html"
