"""Images API v2 behind a real Keystone: one project never sees or changes
another project's private image, through any v2 endpoint (404: invisible),
and a project an image is shared with can look but not change (403).
Spec v2 sections 4, 5, 6, 7, 8 and 13.

alice (tenant-a) owns the images; bob (tenant-b) is the other project or the
image member; carol (tenant-c) holds only the reader role.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.clients import guarded_pair
from tests.pairs import database

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory, real_keystone):
    """A pair behind the run's Keystone (no client here needs its catalog)."""
    url = database(request, tmp_path_factory, "sqlite")
    started = guarded_pair(real_keystone, tmp_path_factory.mktemp("isolation-v2"), url)
    yield started
    started.glance.stop()


@pytest.fixture(scope="module")
def tokens(cloud):
    return {user: cloud.keystone.token(user) for user in ("alice", "bob", "carol", "admin")}


@pytest.fixture
def api(cloud, tokens):
    def _call(user, method, path, **kw):
        headers = dict(kw.pop("headers", {}), **{"X-Auth-Token": tokens[user]})
        return requests.request(method, cloud.glance.url + path, headers=headers,
                                timeout=60, **kw)
    return _call


def _image(api, user="alice", data=b"alice's bytes", **body):
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    resp = api(user, "POST", "/v2/images", json=body)
    assert resp.status_code == 201, resp.text
    image = resp.json()
    if data is not None:
        put = api(user, "PUT", "/v2/images/%s/file" % image["id"], data=data, headers=OCTET)
        assert put.status_code == 204, put.text
    return image


def _every_call(image_id: str, member: str, other: str):
    """(label, method, path, kwargs) for every v2 endpoint on one image."""
    base = "/v2/images/" + image_id
    return [
        ("show", "GET", base, {}),
        ("patch", "PATCH", base, {"headers": PATCH, "json": [
            {"op": "replace", "path": "/name", "value": "taken"}]}),
        ("file get", "GET", base + "/file", {}),
        ("file put", "PUT", base + "/file", {"headers": OCTET, "data": b"mine now"}),
        ("tag put", "PUT", base + "/tags/new", {}),
        ("tag delete", "DELETE", base + "/tags/t", {}),
        ("members list", "GET", base + "/members", {}),
        ("member add", "POST", base + "/members", {"json": {"member": other}}),
        ("member get", "GET", base + "/members/" + member, {}),
        ("member put", "PUT", base + "/members/" + member, {"json": {"status": "accepted"}}),
        ("member delete", "DELETE", base + "/members/" + member, {}),
        ("deactivate", "POST", base + "/actions/deactivate", {}),
        ("reactivate", "POST", base + "/actions/reactivate", {}),
        ("delete", "DELETE", base, {}),
    ]


def _statuses(api, user, calls):
    return {label: api(user, method, path, **kw).status_code
            for label, method, path, kw in calls}


@pytest.mark.parametrize("visibility", ["private", "shared"])
def test_another_project_gets_404_from_every_endpoint(api, cloud, visibility):
    """A private image, and a shared one bob is not a member of, are invisible."""
    dave = "tenant-d-" + uuid.uuid4().hex[:6]
    image = _image(api, visibility=visibility, tags=["t"], name="secret")
    if visibility == "shared":
        # Shared with someone else: that membership must not leak either.
        resp = api("alice", "POST", "/v2/images/%s/members" % image["id"],
                   json={"member": dave})
        assert resp.status_code == 200, resp.text
    calls = _every_call(image["id"], dave, cloud.project_id("tenant-b"))
    for user in ("bob", "carol"):
        got = _statuses(api, user, calls)
        assert got == {label: 404 for label in got}, (user, got)
        for params in ({}, {"visibility": "all"}, {"member_status": "all"},
                       {"visibility": visibility}, {"id": image["id"]},
                       {"name": "secret"}, {"owner": cloud.project_id("tenant-a")}):
            listed = api(user, "GET", "/v2/images", params=params)
            assert listed.status_code == 200, (params, listed.text)
            assert image["id"] not in {i["id"] for i in listed.json()["images"]}, params
    # Nothing changed: alice still has her image as it was.
    after = api("alice", "GET", "/v2/images/" + image["id"]).json()
    assert (after["name"], after["status"], after["tags"]) == ("secret", "active", ["t"])
    assert api("alice", "GET", "/v2/images/%s/file" % image["id"]).content == b"alice's bytes"


@pytest.mark.parametrize("member_status", ["pending", "accepted", "rejected"])
def test_a_member_can_look_but_not_change(api, cloud, member_status):
    bob = cloud.project_id("tenant-b")
    image = _image(api, visibility="shared", tags=["t"], name="given")
    resp = api("alice", "POST", "/v2/images/%s/members" % image["id"], json={"member": bob})
    assert resp.status_code == 200, resp.text
    if member_status != "pending":
        resp = api("bob", "PUT", "/v2/images/%s/members/%s" % (image["id"], bob),
                   json={"status": member_status})
        assert resp.status_code == 200, resp.text

    calls = dict((label, (method, path, kw)) for label, method, path, kw
                 in _every_call(image["id"], bob, cloud.project_id("tenant-c")))
    got = {label: api("bob", *call[:2], **call[2]).status_code
           for label, call in calls.items() if label != "member put"}
    expected = {
        "show": 200, "file get": 200, "members list": 200, "member get": 200,
        "patch": 403, "file put": 403, "tag put": 403, "tag delete": 403,
        "member add": 403, "member delete": 403, "deactivate": 403, "reactivate": 403,
        "delete": 403,
    }
    # PUT /file is refused before any state check would be: an active image
    # answers 409 to its owner, but a member has no business there at all.
    assert got == expected
    members = api("bob", "GET", "/v2/images/%s/members" % image["id"]).json()["members"]
    assert [m["member_id"] for m in members] == [bob]
    after = api("alice", "GET", "/v2/images/" + image["id"]).json()
    assert (after["name"], after["status"], after["tags"]) == ("given", "active", ["t"])


def test_only_the_member_sets_its_status(api, cloud):
    bob = cloud.project_id("tenant-b")
    image = _image(api, visibility="shared", data=None)
    api("alice", "POST", "/v2/images/%s/members" % image["id"], json={"member": bob})
    path = "/v2/images/%s/members/%s" % (image["id"], bob)
    assert api("alice", "PUT", path, json={"status": "accepted"}).status_code == 403
    assert api("carol", "PUT", path, json={"status": "accepted"}).status_code == 404
    assert api("bob", "PUT", path, json={"status": "accepted"}).status_code == 200
    assert api("admin", "PUT", path, json={"status": "rejected"}).status_code == 200


def test_public_and_community_images_are_visible_but_not_changeable(api):
    public = _image(api, "admin", visibility="public", tags=["t"])
    community = _image(api, visibility="community", tags=["t"])
    for image in (public, community):
        calls = {label: (m, p, kw) for label, m, p, kw
                 in _every_call(image["id"], "x", "y")}
        for user in ("bob", "carol"):
            assert api(user, "GET", "/v2/images/" + image["id"]).status_code == 200
            for label in ("patch", "tag put", "tag delete", "deactivate", "delete"):
                status = api(user, *calls[label][:2], **calls[label][2]).status_code
                assert status == 403, (user, label, status, image["visibility"])


def test_a_reader_cannot_create(api):
    resp = api("carol", "POST", "/v2/images", json={"name": "nope"})
    assert resp.status_code == 403, resp.text


def test_the_admin_sees_and_may_change_every_image(api):
    image = _image(api, visibility="private", name="admin-may")
    assert api("admin", "GET", "/v2/images/" + image["id"]).status_code == 200
    resp = api("admin", "PATCH", "/v2/images/" + image["id"], headers=PATCH,
               json=[{"op": "replace", "path": "/name", "value": "by-admin"}])
    assert resp.status_code == 200 and resp.json()["name"] == "by-admin"
    assert api("admin", "DELETE", "/v2/images/" + image["id"]).status_code == 204
