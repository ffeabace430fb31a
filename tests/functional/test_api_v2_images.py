"""Images API v2 against the real daemons on each database (noauth: admin).

Who may do what is covered with a real Keystone in the client and isolation
tests; this module checks the registry round trip of every v2 image call:
lists with filters, sorting and paging, patches, the data path, members.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import pytest
import requests

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"Content-Type": "application/octet-stream"}
DATA = os.urandom(3 * 1024 * 1024 + 7)


@pytest.fixture
def v2(glance):
    return glance.url + "/v2"


def _create(v2, **fields):
    resp = requests.post(v2 + "/images", json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_upload_download_round_trip_with_both_hashes(v2, glance):
    image = _create(v2, name="rt", disk_format="raw", container_format="bare")
    resp = requests.put("%s/images/%s/file" % (v2, image["id"]), data=DATA, headers=OCTET)
    assert resp.status_code == 204, resp.text
    shown = requests.get("%s/images/%s" % (v2, image["id"])).json()
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    got = requests.get("%s/images/%s/file" % (v2, image["id"]))
    assert got.content == DATA
    assert got.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()


def test_a_chunked_upload_in_1_mib_pieces_as_glanceclient_sends_it(v2):
    image = _create(v2, disk_format="raw", container_format="bare")

    def pieces():
        for start in range(0, len(DATA), 1 << 20):
            yield DATA[start:start + (1 << 20)]

    resp = requests.put("%s/images/%s/file" % (v2, image["id"]), data=pieces(),
                        headers=dict(OCTET, **{"x-openstack-image-size": str(len(DATA))}))
    assert resp.status_code == 204, resp.text
    assert requests.get("%s/images/%s/file" % (v2, image["id"])).content == DATA


def test_an_empty_chunked_upload_makes_an_active_empty_image(v2):
    image = _create(v2, disk_format="raw", container_format="bare")
    resp = requests.put("%s/images/%s/file" % (v2, image["id"]), data=iter([b""]),
                        headers=OCTET)
    assert resp.status_code == 204, resp.text
    shown = requests.get("%s/images/%s" % (v2, image["id"])).json()
    assert (shown["status"], shown["size"]) == ("active", 0)


def test_a_failed_upload_leaves_the_image_queued_and_retryable(v2, glance):
    image = _create(v2, disk_format="raw", container_format="bare")
    path = "%s/images/%s/file" % (v2, image["id"])
    bad = requests.put(path, data=DATA, headers=dict(
        OCTET, **{"x-openstack-image-size": str(len(DATA) - 1)}))
    assert bad.status_code == 400
    after = requests.get("%s/images/%s" % (v2, image["id"])).json()
    assert (after["status"], after["checksum"], after["size"]) == ("queued", None, None)
    assert not [f for f in os.listdir(glance.images_dir) if image["id"] in f]
    assert requests.put(path, data=DATA, headers=OCTET).status_code == 204


def test_lists_filter_sort_and_page_without_overlap(v2):
    tag = uuid.uuid4().hex
    formats = ("iso", "qcow2", "raw")
    made = [_create(v2, name="page-%02d" % n, tags=[tag], disk_format=formats[n % 3],
                    grp="g%d" % (n % 2)) for n in range(11)]
    seen, url = [], "%s/images?tag=%s&sort=disk_format:asc,name:desc&limit=4" % (v2, tag)
    while url:
        page = requests.get(url if url.startswith("http") else
                            v2.rsplit("/v2", 1)[0] + url).json()
        seen += page["images"]
        url = page.get("next")
    assert sorted(i["id"] for i in seen) == sorted(i["id"] for i in made)
    keys = [(i["disk_format"], i["name"]) for i in seen]
    assert keys == sorted(keys, key=lambda k: (k[0], [-ord(c) for c in k[1]]))
    assert requests.get("%s/images?sort=min_ram:asc" % v2).status_code == 400
    by_prop = requests.get("%s/images" % v2, params={"tag": tag, "grp": "g1"}).json()
    assert len(by_prop["images"]) == 5
    names = requests.get("%s/images" % v2, params={"name": "in:page-01,page-02"}).json()
    assert sorted(i["name"] for i in names["images"]) == ["page-01", "page-02"]
    assert requests.get("%s/images?sort_key=owner" % v2).status_code == 400
    assert requests.get("%s/images?visibility=secret" % v2).status_code == 400


def test_hidden_images_are_listed_only_when_asked(v2):
    hidden = _create(v2, name="hidden-" + uuid.uuid4().hex, os_hidden=True)
    default = requests.get("%s/images" % v2, params={"name": hidden["name"]}).json()
    assert default["images"] == []
    asked = requests.get("%s/images" % v2, params={"name": hidden["name"],
                                                   "os_hidden": "True"}).json()
    assert [i["id"] for i in asked["images"]] == [hidden["id"]]


def test_patch_and_tags_round_trip_through_the_registry(v2):
    image = _create(v2, name="p", tags=["a"])
    ops = [{"op": "replace", "path": "/name", "value": "q"},
           {"op": "add", "path": "/Upper", "value": "kept"},
           {"op": "replace", "path": "/tags", "value": ["a", "b"]}]
    resp = requests.patch("%s/images/%s" % (v2, image["id"]), data=json.dumps(ops),
                          headers=PATCH)
    assert resp.status_code == 200, resp.text
    assert requests.put("%s/images/%s/tags/c" % (v2, image["id"])).status_code == 204
    shown = requests.get("%s/images/%s" % (v2, image["id"])).json()
    assert (shown["name"], shown["Upper"]) == ("q", "kept")
    assert sorted(shown["tags"]) == ["a", "b", "c"]
    missing = requests.patch("%s/images/%s" % (v2, image["id"]), headers=PATCH,
                             data=json.dumps([{"op": "remove", "path": "/nosuch"}]))
    assert missing.status_code == 409


def test_members_and_their_status_live_in_the_registry(v2):
    image = _create(v2, name="m")
    path = "%s/images/%s/members" % (v2, image["id"])
    assert requests.post(path, json={"member": "tenant-b"}).status_code == 200
    answered = requests.put(path + "/tenant-b", json={"status": "accepted"})
    assert answered.status_code == 200 and answered.json()["status"] == "accepted"
    listed = requests.get(path).json()["members"]
    assert [(m["member_id"], m["status"]) for m in listed] == [("tenant-b", "accepted")]
    assert requests.delete(path + "/tenant-b").status_code == 204
    assert requests.get(path + "/tenant-b").status_code == 404


def test_deactivate_reactivate_and_delete(v2, glance):
    image = _create(v2, disk_format="raw", container_format="bare")
    requests.put("%s/images/%s/file" % (v2, image["id"]), data=b"abc", headers=OCTET)
    act = "%s/images/%s/actions/" % (v2, image["id"])
    assert requests.post(act + "deactivate").status_code == 204
    assert requests.get("%s/images/%s" % (v2, image["id"])).json()["status"] == "deactivated"
    assert requests.post(act + "reactivate").status_code == 204
    assert requests.delete("%s/images/%s" % (v2, image["id"])).status_code == 204
    assert requests.get("%s/images/%s" % (v2, image["id"])).status_code == 404
    assert not [f for f in os.listdir(glance.images_dir) if image["id"] in f]


def test_unknown_ids_and_bad_bodies_are_4xx(v2):
    assert requests.get(v2 + "/images/not-a-uuid").status_code == 404
    assert requests.post(v2 + "/images", data="{",
                         headers={"Content-Type": "application/json"}).status_code == 400
    assert requests.post(v2 + "/images", json=[1]).status_code == 400
    assert requests.post(v2 + "/images", json={"id": "nope"}).status_code == 400
