"""Images API v1 and v2 on ONE registry database: spec v2 section 16.

Each v1 concept is a view of the stored v2 shape; these tests write through
one API and read through the other, behind a real Keystone so projects are
real (alice: tenant-a, bob: tenant-b, both members; admin). Plain HTTP.
"""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests.clients import guarded_pair
from tests.pairs import database

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory, real_keystone):
    """A pair behind the run's Keystone (no client here needs its catalog)."""
    url = database(request, tmp_path_factory, "sqlite")
    started = guarded_pair(real_keystone, tmp_path_factory.mktemp("cross-version"), url)
    yield started
    started.glance.stop()


@pytest.fixture(scope="module")
def tokens(cloud):
    return {user: cloud.keystone.token(user) for user in ("alice", "bob", "admin")}


@pytest.fixture
def api(cloud, tokens):
    """``api("alice", "GET", "/v2/images")``: a call with that user's token."""

    def _call(user, method, path, **kw):
        headers = dict(kw.pop("headers", {}), **{"X-Auth-Token": tokens[user]})
        return requests.request(method, cloud.glance.url + path, headers=headers,
                                timeout=60, **kw)
    return _call


def v1_create(api, user, data=None, **meta):
    headers = {"x-image-meta-name": "v1-img", "x-image-meta-disk_format": "raw",
               "x-image-meta-container_format": "bare", **OCTET}
    headers.update({"x-image-meta-%s" % k: str(v) for k, v in meta.items()})
    resp = api(user, "POST", "/v1/images", headers=headers, data=data)
    assert resp.status_code == 201, resp.text
    return resp.json()["image"]


def v1_head(api, user, image_id) -> requests.Response:
    return api(user, "HEAD", "/v1/images/" + image_id)


def v2_create(api, user, **body):
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    resp = api(user, "POST", "/v2/images", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def v2_get(api, user, image_id) -> dict:
    resp = api(user, "GET", "/v2/images/" + image_id)
    assert resp.status_code == 200, resp.text
    return resp.json()


def v1_ids(api, user, **params) -> set:
    resp = api(user, "GET", "/v1/images/detail", params=params)
    assert resp.status_code == 200, resp.text
    return {i["id"] for i in resp.json()["images"]}


def v2_ids(api, user, **params) -> set:
    resp = api(user, "GET", "/v2/images", params=params)
    assert resp.status_code == 200, resp.text
    return {i["id"] for i in resp.json()["images"]}


def test_a_v1_image_without_is_public_is_shared_and_owned_by_the_caller(api, cloud):
    image = v1_create(api, "alice")
    assert image["is_public"] is False
    seen = v2_get(api, "alice", image["id"])
    assert seen["visibility"] == "shared"
    assert seen["owner"] == cloud.project_id("tenant-a")


def test_is_public_and_visibility_both_ways(api):
    public_v1 = v1_create(api, "admin", is_public="True")
    assert v2_get(api, "admin", public_v1["id"])["visibility"] == "public"
    for visibility, is_public in (("public", "True"), ("private", "False"),
                                  ("shared", "False"), ("community", "False")):
        image = v2_create(api, "admin", visibility=visibility)
        head = v1_head(api, "admin", image["id"])
        assert head.status_code == 200
        assert head.headers["x-image-meta-is_public"] == is_public, visibility
    # v1 update from public to not public: shared; private stays private.
    resp = api("admin", "PUT", "/v1/images/" + public_v1["id"],
               headers={"x-image-meta-is_public": "False"})
    assert resp.status_code == 200, resp.text
    assert v2_get(api, "admin", public_v1["id"])["visibility"] == "shared"
    private = v2_create(api, "alice", visibility="private")
    resp = api("alice", "PUT", "/v1/images/" + private["id"],
               headers={"x-image-meta-name": "renamed"})
    assert resp.status_code == 200, resp.text
    assert v2_get(api, "alice", private["id"])["visibility"] == "private"


def test_properties_land_on_the_same_rows(api):
    v1 = v1_create(api, "alice", **{"property-Foo": "x", "property-os_distro": "ubuntu"})
    seen = v2_get(api, "alice", v1["id"])
    assert seen["os_distro"] == "ubuntu"
    assert {k: v for k, v in seen.items() if k.lower() == "foo"} in ({"foo": "x"},
                                                                      {"Foo": "x"})

    v2 = v2_create(api, "alice", Foo="x", bar="y", tags=["t"], os_hidden=False)
    head = v1_head(api, "alice", v2["id"])
    assert head.headers["x-image-meta-property-foo"] == "x"
    assert head.headers["x-image-meta-property-bar"] == "y"
    # v2-only attributes are not v1 properties (spec 16).
    assert not any(h.lower().endswith(("-tags", "-os_hidden")) for h in head.headers)
    resp = api("alice", "PUT", "/v1/images/" + v2["id"],
               headers={"x-image-meta-property-Foo": "z",
                        "x-glance-registry-purge-props": "false"})
    assert resp.status_code == 200, resp.text
    after = v2_get(api, "alice", v2["id"])
    # One row, not a second one beside it (v1 header names carry no case,
    # so the key may come back lower-cased).
    assert [v for k, v in after.items() if k.lower() == "foo"] == ["z"]
    assert after["bar"] == "y" and after["tags"] == ["t"]


def test_v1_upload_computes_the_v2_hashes(api):
    data = b"uploaded through v1" * 100
    image = v1_create(api, "alice", data=data)
    seen = v2_get(api, "alice", image["id"])
    assert seen["status"] == "active" and seen["size"] == len(data)
    assert seen["checksum"] == hashlib.md5(data).hexdigest()
    assert seen["os_hash_algo"] == "sha512"
    assert seen["os_hash_value"] == hashlib.sha512(data).hexdigest()
    got = api("alice", "GET", "/v2/images/%s/file" % image["id"])
    assert got.status_code == 200 and got.content == data


def test_v1_members_see_at_once_v2_members_after_accepting(api, cloud):
    bob = cloud.project_id("tenant-b")
    image = v1_create(api, "alice")
    resp = api("alice", "PUT", "/v1/images/%s/members/%s" % (image["id"], bob),
               json={"member": {"can_share": True}})
    assert resp.status_code in (200, 204), resp.text

    assert image["id"] in v1_ids(api, "bob")
    assert image["id"] not in v2_ids(api, "bob")
    assert image["id"] in v2_ids(api, "bob", member_status="pending")
    assert image["id"] in v2_ids(api, "bob", member_status="all")
    member = api("alice", "GET", "/v2/images/%s/members/%s" % (image["id"], bob)).json()
    assert member["status"] == "pending"
    v1_members = api("alice", "GET", "/v1/images/%s/members" % image["id"]).json()
    assert v1_members == {"members": [{"member_id": bob, "can_share": True}]}

    resp = api("bob", "PUT", "/v2/images/%s/members/%s" % (image["id"], bob),
               json={"status": "accepted"})
    assert resp.status_code == 200, resp.text
    assert image["id"] in v2_ids(api, "bob")
    assert image["id"] in v1_ids(api, "bob")
    # v1 members carry no status.
    assert api("alice", "GET", "/v1/images/%s/members" % image["id"]).json() == v1_members


def test_a_v2_member_has_no_can_share(api, cloud):
    bob = cloud.project_id("tenant-b")
    image = v2_create(api, "alice", visibility="shared")
    resp = api("alice", "POST", "/v2/images/%s/members" % image["id"], json={"member": bob})
    assert resp.status_code == 200, resp.text
    members = api("alice", "GET", "/v1/images/%s/members" % image["id"]).json()
    assert members == {"members": [{"member_id": bob, "can_share": False}]}
    # v1 has no acceptance: bob sees it in v1 at once.
    assert image["id"] in v1_ids(api, "bob")


def test_a_private_v2_image_with_members_is_hidden_from_v1_members(api, cloud):
    bob = cloud.project_id("tenant-b")
    image = v2_create(api, "alice", visibility="shared")
    api("alice", "POST", "/v2/images/%s/members" % image["id"], json={"member": bob})
    resp = api("alice", "PATCH", "/v2/images/" + image["id"],
               headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
               json=[{"op": "replace", "path": "/visibility", "value": "private"}])
    assert resp.status_code == 200, resp.text
    assert image["id"] not in v1_ids(api, "bob")
    assert v1_head(api, "bob", image["id"]).status_code == 404


def test_v1_member_on_a_private_image_makes_it_shared(api, cloud):
    bob = cloud.project_id("tenant-b")
    image = v2_create(api, "alice", visibility="private")
    resp = api("alice", "PUT", "/v1/images/%s/members/%s" % (image["id"], bob))
    assert resp.status_code in (200, 204), resp.text
    assert v2_get(api, "alice", image["id"])["visibility"] == "shared"
    assert v2_get(api, "bob", image["id"])["id"] == image["id"]


def test_a_v1_upload_failure_kills_and_v2_cannot_upload_it(api):
    data = b"not what the checksum says"
    resp = api("alice", "POST", "/v1/images", data=data, headers={
        "x-image-meta-name": "doomed", "x-image-meta-disk_format": "raw",
        "x-image-meta-container_format": "bare", "x-image-meta-checksum": "0" * 32,
        **OCTET})
    assert resp.status_code == 400, resp.text
    listed = api("alice", "GET", "/v1/images/detail", params={"name": "doomed"}).json()
    assert listed["images"] == []  # killed images are not listed (v1 spec)
    changed = api("alice", "GET", "/v1/images/detail",
                  params={"changes-since": "2000-01-01T00:00:00"}).json()["images"]
    doomed = [i for i in changed if i["name"] == "doomed"]
    assert len(doomed) == 1 and doomed[0]["status"] == "killed"
    image_id = doomed[0]["id"]

    assert v2_get(api, "alice", image_id)["status"] == "killed"
    assert image_id not in v2_ids(api, "alice")
    put = api("alice", "PUT", "/v2/images/%s/file" % image_id, data=b"retry", headers=OCTET)
    assert put.status_code == 409, put.text
    assert api("alice", "DELETE", "/v2/images/" + image_id).status_code == 204
    assert api("alice", "GET", "/v2/images/" + image_id).status_code == 404


def test_a_v2_upload_failure_leaves_queued_in_v1(api):
    image = v2_create(api, "alice")
    resp = api("alice", "PUT", "/v2/images/%s/file" % image["id"], data=b"x" * 5000,
               headers={"x-openstack-image-size": "10", **OCTET})
    assert resp.status_code == 400, resp.text
    assert v1_head(api, "alice", image["id"]).headers["x-image-meta-status"] == "queued"
    assert v2_get(api, "alice", image["id"])["status"] == "queued"
