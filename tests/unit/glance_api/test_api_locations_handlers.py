"""The locations API and the PATCH of /locations through Flask's test client,
on the fake registry and a small in-memory store: who may do what, OSSN-0065,
and credentials never echoed."""

from __future__ import annotations

import hashlib
import json

import pytest

from glance_api.app import create_app
from tests.unit.glance_api.locations_support import MemoryDriver
from tests.unit.glance_api.locations_support import memory_stores
from tests.waiting import poll_until

DATA = b"location data " * 1000
SHA512 = hashlib.sha512(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()
PATCH = "application/openstack-images-v2.1-json-patch"
SECRET_URL = "mem://nova:s3cr3t-key@vol/snap"


@pytest.fixture
def memory():
    memory = MemoryDriver()
    memory.put("mem://vol/a", DATA)
    memory.put("mem://vol/b", DATA)
    memory.put("mem://vol/other", b"other data")
    memory.put(SECRET_URL, DATA)
    return memory


def _client(make_conf, registry, datadir, memory, **options):
    conf = make_conf(dict({"show_multiple_locations": True}, **options))
    return create_app(conf, registry=registry,
                      stores=memory_stores(datadir, memory)).test_client()


@pytest.fixture
def client(make_conf, registry, keystone, datadir, memory):
    return _client(make_conf, registry, datadir, memory)


@pytest.fixture
def as_(keystone):
    def _as(user, project, roles=("member", "reader")):
        return {"X-Auth-Token": keystone.issue(user, project, list(roles)),
                "Accept": "application/json"}
    return _as


@pytest.fixture
def nova(as_):
    return as_("nova", "tenant-a", ("service",))


@pytest.fixture
def alice(as_):
    return as_("alice", "tenant-a")


def _queued(registry, **fields):
    return registry.add(owner="tenant-a", **fields)["id"]


def _active(registry, url="mem://vol/a", **fields):
    fields = dict(dict(status="active", size=len(DATA), checksum=MD5,
                       os_hash_algo="sha512", os_hash_value=SHA512,
                       locations=[{"url": url, "metadata": {"store": "mem"}}]), **fields)
    return registry.add(owner="tenant-a", **fields)["id"]


def _add(client, headers, image_id, url, **body):
    return client.post("/v2/images/%s/locations" % image_id, headers=headers,
                       json=dict(body, url=url))


def _patch(client, headers, image_id, ops):
    return client.patch("/v2/images/" + image_id, data=json.dumps(ops),
                        headers=dict(headers, **{"Content-Type": PATCH}))


# GET /v2/images/{id}/locations

def test_only_the_service_role_lists_locations(client, registry, nova, alice, as_):
    image_id = _active(registry)
    resp = client.get("/v2/images/%s/locations" % image_id, headers=nova)
    assert resp.status_code == 200
    assert resp.json == [{"url": "mem://vol/a", "metadata": {"store": "mem"}}]
    for headers in (alice, as_("root", "admin", ("admin", "member"))):
        assert client.get("/v2/images/%s/locations" % image_id,
                          headers=headers).status_code == 403


def test_another_projects_private_image_is_404_even_to_a_service(client, registry, as_):
    image_id = _active(registry, visibility="private")
    other = as_("cinder", "tenant-b", ("service",))
    assert client.get("/v2/images/%s/locations" % image_id, headers=other).status_code == 404
    assert _add(client, other, image_id, "mem://vol/b").status_code == 404


# POST /v2/images/{id}/locations

def test_a_service_gives_a_queued_image_its_location_and_the_hash_follows(
        client, registry, nova):
    image_id = _queued(registry)
    resp = _add(client, nova, image_id, "mem://vol/a", validation_data={})
    assert resp.status_code == 202, resp.text
    image = registry.images[image_id]
    assert (image["status"], image["size"], image["os_hash_algo"]) == (
        "active", len(DATA), "sha512")
    assert image["locations"] == [{"url": "mem://vol/a", "metadata": {"store": "mem"}}]
    assert poll_until(lambda: registry.images[image_id]["os_hash_value"] == SHA512, 10)
    assert registry.images[image_id]["checksum"] == MD5


def test_vouched_data_keeps_the_image_queued_until_it_is_verified(client, registry, nova,
                                                                 caplog):
    image_id = _queued(registry)
    resp = _add(client, nova, image_id, "mem://vol/a",
                validation_data={"os_hash_algo": "sha512", "os_hash_value": SHA512})
    assert resp.status_code == 202, resp.text
    assert poll_until(lambda: registry.images[image_id]["status"] == "active", 10)
    image = registry.images[image_id]
    assert (image["os_hash_value"], image["checksum"]) == (SHA512, MD5)
    wrong = _queued(registry)
    resp = _add(client, nova, wrong, "mem://vol/other",
                validation_data={"os_hash_algo": "sha512", "os_hash_value": SHA512})
    assert resp.status_code == 202
    assert poll_until(lambda: "is not what was vouched for image %s" % wrong
                      in caplog.text, 10)
    assert registry.images[wrong]["status"] == "queued"
    assert registry.images[wrong]["locations"] == []


def test_without_secure_hash_vouched_values_are_recorded_as_given(
        make_conf, registry, keystone, datadir, memory, nova):
    client = _client(make_conf, registry, datadir, memory, do_secure_hash=False)
    image_id = _queued(registry)
    resp = _add(client, nova, image_id, "mem://vol/a",
                validation_data={"os_hash_algo": "sha256", "os_hash_value": "ab" * 32})
    assert resp.status_code == 202
    image = registry.images[image_id]
    assert (image["status"], image["os_hash_algo"], image["os_hash_value"]) == (
        "active", "sha256", "ab" * 32)
    plain = _queued(registry)
    assert _add(client, nova, plain, "mem://vol/a").status_code == 202
    assert (registry.images[plain]["status"], registry.images[plain]["os_hash_algo"]) == (
        "active", None)


@pytest.mark.parametrize("status", ["active", "saving", "uploading", "importing",
                                    "deactivated"])
def test_only_a_queued_image_takes_a_location(client, registry, nova, status):
    # OSSN-0065: an image that has data never gets other data this way.
    image_id = _queued(registry, status=status)
    before = dict(registry.images[image_id])
    resp = _add(client, nova, image_id, "mem://vol/other")
    assert resp.status_code == 409
    assert registry.images[image_id] == before


@pytest.mark.parametrize("body, code", [
    ({"url": "cinder://lvm/vol"}, 400),
    ({"url": "mem://vol/none"}, 400),
    ({"url": 7}, 400),
    ({}, 400),
    ({"url": "mem://vol/a", "metadata": {}}, 400),
    ({"url": "mem://vol/a", "validation_data": {"os_hash_value": SHA512}}, 400),
    ({"url": "mem://vol/a", "validation_data": {"os_hash_algo": "sha123",
                                                "os_hash_value": SHA512}}, 400),
])
def test_refused_locations_change_nothing(client, registry, nova, body, code):
    image_id = _queued(registry)
    resp = client.post("/v2/images/%s/locations" % image_id, headers=nova, json=body)
    assert resp.status_code == code, resp.text
    assert registry.images[image_id]["status"] == "queued"
    assert registry.images[image_id]["locations"] == []


def test_an_owner_may_not_name_data_in_the_services_stores(client, registry, alice, as_):
    image_id = _queued(registry)
    assert _add(client, alice, image_id, "mem://vol/a").status_code == 403
    bob = as_("bob", "tenant-b")
    assert _add(client, bob, image_id, "mem://vol/a").status_code in (403, 404)
    carol = as_("carol", "tenant-a", ("reader",))
    assert _add(client, carol, image_id, "mem://vol/a").status_code == 403
    assert registry.images[image_id]["locations"] == []


def test_credentials_in_a_location_are_never_echoed(client, registry, nova, alice):
    image_id = _queued(registry)
    assert _add(client, nova, image_id, SECRET_URL).status_code == 202
    for resp in (client.get("/v2/images/%s/locations" % image_id, headers=nova),
                 client.get("/v2/images/" + image_id, headers=alice)):
        assert resp.status_code == 200
        assert "s3cr3t" not in resp.text
    shown = client.get("/v2/images/" + image_id, headers=alice).json["locations"]
    assert shown == [{"url": "mem://***@vol/snap", "metadata": {"store": "mem"}}]
    refused = _add(client, nova, _queued(registry), "mem://nova:s3cr3t-key@vol/none")
    assert refused.status_code == 400 and "s3cr3t" not in refused.text


# The PATCH of /locations (show_multiple_locations)

def test_locations_are_refused_by_patch_when_the_option_is_off(
        make_conf, registry, keystone, datadir, memory, alice):
    client = _client(make_conf, registry, datadir, memory, show_multiple_locations=False)
    image_id = _queued(registry)
    resp = _patch(client, alice, image_id, [{"op": "add", "path": "/locations/-",
                                             "value": {"url": "mem://vol/a",
                                                       "metadata": {}}}])
    assert resp.status_code == 403
    assert "locations" not in client.get("/v2/images/" + image_id, headers=alice).json


def test_patch_add_activates_a_queued_image_once_its_size_is_known(
        client, registry, as_):
    admin = as_("root", "admin", ("admin",))
    image_id = _queued(registry)
    resp = _patch(client, admin, image_id, [
        {"op": "add", "path": "/locations/-",
         "value": {"url": "mem://vol/a", "metadata": {"store": "lies", "k": "v"}}}])
    assert resp.status_code == 200, resp.text
    assert resp.json["status"] == "active" and resp.json["size"] == len(DATA)
    assert resp.json["locations"] == [{"url": "mem://vol/a",
                                       "metadata": {"k": "v", "store": "mem"}}]
    assert poll_until(lambda: registry.images[image_id]["os_hash_value"] == SHA512, 10)


def test_patch_may_not_swap_an_active_images_data(client, registry, as_):
    admin = as_("root", "admin", ("admin",))
    image_id = _active(registry)
    before = dict(registry.images[image_id])
    for ops in ([{"op": "add", "path": "/locations/0",
                  "value": {"url": "mem://vol/other", "metadata": {}}}],
                [{"op": "replace", "path": "/locations",
                  "value": [{"url": "mem://vol/other", "metadata": {}}]}],
                [{"op": "add", "path": "/locations/-",
                  "value": {"url": "mem://vol/other", "metadata": {}}},
                 {"op": "remove", "path": "/locations/0"}]):
        resp = _patch(client, admin, image_id, ops)
        assert resp.status_code == 409, resp.text
        assert registry.images[image_id] == before
    same = _patch(client, admin, image_id, [
        {"op": "add", "path": "/locations/-",
         "value": {"url": "mem://vol/b", "metadata": {}}}])
    assert same.status_code == 200, same.text
    assert [loc["url"] for loc in same.json["locations"]] == ["mem://vol/a", "mem://vol/b"]


def test_patch_may_not_remove_the_last_location_of_an_active_image(client, registry, as_):
    admin = as_("root", "admin", ("admin",))
    image_id = _active(registry)
    resp = _patch(client, admin, image_id, [{"op": "remove", "path": "/locations/0"}])
    assert resp.status_code == 403
    assert len(registry.images[image_id]["locations"]) == 1


def test_patch_replace_keeps_masked_urls_and_only_changes_metadata(
        client, registry, nova, as_):
    admin = as_("root", "admin", ("admin",))
    image_id = _active(registry, url=SECRET_URL)
    shown = client.get("/v2/images/" + image_id, headers=admin).json["locations"]
    assert "s3cr3t" not in json.dumps(shown)
    shown[0]["metadata"]["note"] = "fast"
    resp = _patch(client, admin, image_id, [{"op": "replace", "path": "/locations",
                                             "value": shown}])
    assert resp.status_code == 200, resp.text
    assert registry.images[image_id]["locations"] == [
        {"url": SECRET_URL, "metadata": {"note": "fast", "store": "mem"}}]
    assert "s3cr3t" not in resp.text


def test_an_owner_may_patch_only_http_locations(client, registry, alice):
    image_id = _queued(registry)
    resp = _patch(client, alice, image_id, [{"op": "add", "path": "/locations/-",
                                             "value": {"url": "mem://vol/a",
                                                       "metadata": {}}}])
    assert resp.status_code == 403
    assert registry.images[image_id]["status"] == "queued"


@pytest.mark.parametrize("ops, code", [
    ([{"op": "add", "path": "/locations", "value": {"url": "mem://vol/a",
                                                    "metadata": {}}}], 400),
    ([{"op": "add", "path": "/locations/x", "value": {"url": "mem://vol/a",
                                                      "metadata": {}}}], 400),
    ([{"op": "add", "path": "/locations/-", "value": {"url": "mem://vol/a"}}], 400),
    ([{"op": "replace", "path": "/locations", "value": []}], 403),
    ([{"op": "remove", "path": "/locations/0"}], 409),
])
def test_malformed_location_patches_change_nothing(client, registry, as_, ops, code):
    admin = as_("root", "admin", ("admin",))
    image_id = _queued(registry)
    assert _patch(client, admin, image_id, ops).status_code == code
    assert registry.images[image_id]["status"] == "queued"


def test_versions_list_the_locations_api(client):
    ids = {v["id"] for v in client.get("/versions").json["versions"]}
    assert {"v2.15", "v2.17"} <= ids


def test_patch_gives_a_queued_image_one_location_at_a_time(client, registry, as_):
    admin = as_("root", "admin", ("admin",))
    image_id = _queued(registry)
    resp = _patch(client, admin, image_id, [
        {"op": "replace", "path": "/locations",
         "value": [{"url": "mem://vol/a", "metadata": {}},
                   {"url": "mem://vol/other", "metadata": {}}]}])
    assert resp.status_code == 400
    assert registry.images[image_id]["status"] == "queued"
