"""The v1 handlers through Flask's test client, on a fake registry with real
compare-and-set semantics and a real file store: no daemons."""

from __future__ import annotations

import hashlib

import pytest

DATA = b"an image's bytes" * 1000


@pytest.fixture
def token(keystone):
    def _token(user, project, roles=("member",)):
        return {"X-Auth-Token": keystone.issue(user, project, list(roles))}
    return _token


def _create(client, headers, data=None, **meta):
    headers = dict(headers)
    headers.update({"x-image-meta-%s" % k.replace("_", "-"): v for k, v in meta.items()})
    if data is not None:
        headers["Content-Type"] = "application/octet-stream"
    return client.post("/v1/images", headers=headers, data=data)


def test_a_create_with_data_stores_it_and_answers_the_active_image(client, token,
                                                                    registry, datadir):
    resp = _create(client, token("alice", "tenant-a"), DATA, name="x",
                   disk_format="raw", container_format="bare")
    assert resp.status_code == 201, resp.text
    image = resp.json["image"]
    assert image["status"] == "active" and image["owner"] == "tenant-a"
    assert image["checksum"] == hashlib.md5(DATA).hexdigest()
    assert resp.headers["ETag"] == image["checksum"]
    assert (datadir / image["id"]).read_bytes() == DATA
    got = client.get("/v1/images/" + image["id"], headers=token("alice", "tenant-a"))
    assert got.status_code == 200 and got.data == DATA


def test_a_create_with_a_bad_format_is_400_and_records_nothing(client, token, registry):
    resp = _create(client, token("alice", "tenant-a"), DATA, disk_format="floppy",
                   container_format="bare")
    assert resp.status_code == 400
    assert "Invalid disk format" in resp.text
    assert registry.images == {}


def test_data_without_formats_is_400_and_records_nothing(client, token, registry):
    resp = _create(client, token("alice", "tenant-a"), DATA, name="x")
    assert resp.status_code == 400
    assert registry.images == {}


@pytest.mark.parametrize("roles", [("member",), ("admin",)])
@pytest.mark.parametrize("field,value", [("size", "1823"), ("checksum", "0" * 32)])
def test_nobody_rewrites_the_size_or_checksum_of_an_active_image(client, token, registry,
                                                                 roles, field, value):
    # Not even an admin (Glance allowed one): the record would no longer
    # describe the stored data, and every download would be refused.
    image = registry.add(owner="tenant-a", status="active", size=67, checksum="a" * 32)
    resp = client.put("/v1/images/" + image["id"], headers=dict(
        token("alice", "tenant-a", roles), **{"x-image-meta-" + field: value}))
    assert resp.status_code == 403, resp.text
    assert "Forbidden to modify '%s'" % field in resp.text
    assert registry.images[image["id"]]["size"] == 67
    assert registry.images[image["id"]]["checksum"] == "a" * 32
    same = client.put("/v1/images/" + image["id"], headers=dict(
        token("alice", "tenant-a", roles), **{"x-image-meta-size": "67"}))
    assert same.status_code == 200, same.text


def test_data_sent_to_an_image_that_is_not_queued_is_409(client, token, registry):
    image = registry.add(owner="tenant-a", status="active", size=1)
    resp = client.put("/v1/images/" + image["id"], data=DATA, headers=dict(
        token("alice", "tenant-a"), **{"Content-Type": "application/octet-stream"}))
    assert resp.status_code == 409
    assert registry.images[image["id"]]["status"] == "active"


def test_another_projects_private_image_is_404_for_every_verb(client, token, registry):
    image = registry.add(owner="tenant-a", visibility="private")
    bob = token("bob", "tenant-b")
    path = "/v1/images/" + image["id"]
    assert client.head(path, headers=bob).status_code == 404
    assert client.get(path, headers=bob).status_code == 404
    assert client.put(path, headers=dict(bob, **{"x-image-meta-name": "b"})).status_code == 404
    assert client.delete(path, headers=bob).status_code == 404
    assert client.put(path + "/members/tenant-b", headers=bob).status_code == 404
    assert registry.images[image["id"]]["name"] is None
    assert not registry.images[image["id"]]["deleted"]


def test_a_member_without_can_share_may_not_share_on(client, token, registry):
    image = registry.add(owner="tenant-a")
    registry.members_of[image["id"]] = [{"member_id": "tenant-b", "can_share": False}]
    resp = client.put("/v1/images/%s/members/tenant-c" % image["id"],
                      headers=token("bob", "tenant-b"))
    assert resp.status_code == 403
    assert [m["member_id"] for m in registry.members_of[image["id"]]] == ["tenant-b"]


def test_a_member_with_can_share_and_the_owner_may_share(client, token, registry):
    image = registry.add(owner="tenant-a")
    registry.members_of[image["id"]] = [{"member_id": "tenant-b", "can_share": True}]
    path = "/v1/images/%s/members/" % image["id"]
    assert client.put(path + "tenant-c", headers=token("bob", "tenant-b")).status_code == 204
    assert client.put(path + "tenant-d", headers=token("alice", "tenant-a")).status_code == 204
    assert client.delete(path + "tenant-c",
                         headers=token("alice", "tenant-a")).status_code == 204
    assert [m["member_id"] for m in registry.members_of[image["id"]]] == [
        "tenant-b", "tenant-d"]


def test_deleting_an_image_removes_the_bytes_the_service_wrote(client, token, registry,
                                                              datadir):
    resp = _create(client, token("alice", "tenant-a"), DATA, disk_format="raw",
                   container_format="bare")
    image_id = resp.json["image"]["id"]
    assert client.delete("/v1/images/" + image_id,
                         headers=token("alice", "tenant-a")).status_code == 200
    assert registry.images[image_id]["status"] == "deleted"
    assert list(datadir.iterdir()) == []


def test_a_registry_that_is_down_is_503_and_says_so(client, token, registry):
    registry.outage("list")
    resp = client.get("/v1/images", headers=dict(token("alice", "tenant-a"),
                                                 Accept="application/json"))
    assert resp.status_code == 503
    assert "unavailable" in resp.json["message"]


def test_v1s_last_conformance_gaps_answer_as_glance_did(client, token):
    alice = token("alice", "tenant-a")
    assert client.delete("/v1/images/", headers=alice).status_code == 404
    head = client.head("/v1/images/detail", headers=alice)
    assert head.status_code == 405 and head.headers["Allow"] == "GET"
    assert client.get("/v1/images/detail", headers=alice).status_code == 200


@pytest.mark.parametrize("path", ["/v1/images//members", "/v2/images//file",
                                  "/v2/images//members/x"])
def test_an_empty_id_is_404_not_a_redirect_to_another_route(client, token, path):
    resp = client.put(path, headers=token("alice", "tenant-a"))
    assert resp.status_code == 404
    assert "Location" not in resp.headers


def test_reserved_os_glance_properties_are_not_v1_callers_to_set_or_purge(
        client, token, registry):
    alice = token("alice", "tenant-a")
    refused = client.post("/v1/images", headers=dict(
        alice, **{"x-image-meta-name": "x",
                  "x-image-meta-property-os_glance_stage_host": "http://evil"}))
    assert refused.status_code == 403 and "reserved" in refused.text
    assert registry.images == {}
    image = registry.add(owner="tenant-a", status="active", size=1,
                         properties={"os_glance_import_task": "t1", "mine": "1"})
    purged = client.put("/v1/images/" + image["id"], headers=dict(
        alice, **{"x-glance-registry-purge-props": "true",
                  "x-image-meta-property-new": "2"}))
    assert purged.status_code == 200, purged.text
    assert registry.images[image["id"]]["properties"] == {"os_glance_import_task": "t1",
                                                          "new": "2"}
