"""/v2/cache through Flask's test client: admins manage this node's cache,
others are refused, and a node without a cache says so."""

from __future__ import annotations

import hashlib

import pytest

from glance_api.app import create_app
from tests.unit.glance_api.api_support import file_stores

DATA = bytes(range(256)) * 64


@pytest.fixture
def as_(keystone):
    def _as(user, project, roles=("member", "reader")):
        return {"X-Auth-Token": keystone.issue(user, project, list(roles)),
                "Accept": "application/json"}
    return _as


@pytest.fixture
def cached_client(make_conf, registry, keystone, datadir, tmp_path):
    conf = make_conf({"image_cache_dir": str(tmp_path / "cache")})
    app = create_app(conf, registry=registry, stores=file_stores(datadir))
    return app.test_client()


def _active(client, registry, headers) -> dict:
    created = client.post("/v2/images", headers=headers, json={
        "name": "x", "disk_format": "raw", "container_format": "bare"}).json
    assert client.put("/v2/images/%s/file" % created["id"], data=DATA, headers=dict(
        headers, **{"Content-Type": "application/octet-stream"})).status_code == 204
    return registry.images[created["id"]]


def test_admins_queue_list_and_delete_cache_entries(cached_client, registry, as_):
    admin = as_("root", "p-admin", ["admin", "member", "reader"])
    image = _active(cached_client, registry, admin)
    empty = cached_client.get("/v2/cache", headers=admin)
    assert empty.status_code == 200
    assert empty.json == {"cached_images": [], "queued_images": []}
    assert cached_client.put("/v2/cache/" + image["id"], headers=admin).status_code == 202
    assert cached_client.get("/v2/cache", headers=admin).json["queued_images"] == [image["id"]]
    assert cached_client.delete("/v2/cache/" + image["id"], headers=admin).status_code == 204
    assert cached_client.get("/v2/cache", headers=admin).json["queued_images"] == []
    got = cached_client.get("/v2/images/%s/file" % image["id"], headers=admin)
    assert got.data == DATA and got.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()


def test_clearing_takes_a_target_and_refuses_an_unknown_one(cached_client, registry, as_):
    admin = as_("root", "p-admin", ["admin", "member", "reader"])
    image = _active(cached_client, registry, admin)
    cached_client.put("/v2/cache/" + image["id"], headers=admin)
    bad = cached_client.delete("/v2/cache", headers=dict(
        admin, **{"x-image-cache-clear-target": "everything"}))
    assert bad.status_code == 400
    assert cached_client.get("/v2/cache", headers=admin).json["queued_images"] == [image["id"]]
    kept = cached_client.delete("/v2/cache", headers=dict(
        admin, **{"x-image-cache-clear-target": "cache"}))
    assert kept.status_code == 204
    assert cached_client.get("/v2/cache", headers=admin).json["queued_images"] == [image["id"]]
    assert cached_client.delete("/v2/cache", headers=admin).status_code == 204
    assert cached_client.get("/v2/cache", headers=admin).json["queued_images"] == []


def test_only_active_images_are_queued_and_unknown_ones_are_404(cached_client, registry, as_):
    admin = as_("root", "p-admin", ["admin", "member", "reader"])
    queued = cached_client.post("/v2/images", headers=admin, json={"name": "q"}).json
    assert cached_client.put("/v2/cache/" + queued["id"], headers=admin).status_code == 400
    missing = "0b1c5d6e-0000-4000-8000-00000000beef"
    assert cached_client.put("/v2/cache/" + missing, headers=admin).status_code == 404
    assert cached_client.delete("/v2/cache/" + missing, headers=admin).status_code == 404


@pytest.mark.parametrize("method,path", [
    ("get", "/v2/cache"), ("delete", "/v2/cache"), ("put", "/v2/cache/{id}"),
    ("delete", "/v2/cache/{id}")])
def test_members_may_not_touch_the_cache(cached_client, registry, as_, method, path):
    alice = as_("alice", "tenant-a")
    image = _active(cached_client, registry, alice)
    resp = getattr(cached_client, method)(path.format(id=image["id"]), headers=alice)
    assert resp.status_code == 403


def test_a_node_without_a_cache_answers_404(client, as_):
    admin = as_("root", "p-admin", ["admin", "member", "reader"])
    resp = client.get("/v2/cache", headers=admin)
    assert resp.status_code == 404
    assert "not supported" in resp.json["message"]


def test_the_cache_versions_are_listed_only_with_a_cache(client, cached_client):
    def ids(c):
        return {v["id"] for v in c.get("/versions").json["versions"]}

    def current(c):
        return [v["id"] for v in c.get("/versions").json["versions"]
                if v["status"] == "CURRENT"]
    assert {"v2.14", "v2.16", "v2.18"} <= ids(cached_client)
    assert not {"v2.14", "v2.16", "v2.18"} & ids(client)
    # As Glance: v2.18 is CURRENT with the cache, v2.17 without.
    assert (current(cached_client), current(client)) == (["v2.18"], ["v2.17"])
    assert cached_client.get("/v2.16/cache", headers={}).status_code in (401, 403)
