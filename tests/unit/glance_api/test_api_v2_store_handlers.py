"""Multi-store through the api's handlers (fake registry, real file stores):
GET /v2/info/stores[/detail], uploads to a chosen store, the ``stores``
property, DELETE /v2/stores/{store}/{image}, and the versions document."""

from __future__ import annotations

import copy
import io
import json

import pytest

from glance_api.app import create_app
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import NotFound
from glance_api.v2 import stores as v2_stores

PATCH = "application/openstack-images-v2.1-json-patch"
OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def as_(keystone):
    def _as(user, project, roles=("member", "reader")):
        return {"X-Auth-Token": keystone.issue(user, project, list(roles)),
                "Accept": "application/json"}
    return _as


@pytest.fixture
def app(make_conf, registry, keystone, tmp_path):
    conf = make_conf(
        {"enabled_backends": "fast:file, cheap:file, web:http"},
        glance_store={"default_backend": "fast"},
        fast={"filesystem_store_datadir": tmp_path / "fast",
              "store_description": "Fast disks", "weight": 10},
        cheap={"filesystem_store_datadir": tmp_path / "cheap"},
        os_glance_staging_store={"filesystem_store_datadir": tmp_path / "staging"},
        os_glance_tasks_store={"filesystem_store_datadir": tmp_path / "tasks"})
    return create_app(conf, registry=registry)


@pytest.fixture
def multi(app):
    return app.test_client()


@pytest.fixture
def stores(app):
    return app.extensions["glance"].stores


def _image(client, headers, **fields):
    fields.setdefault("disk_format", "raw")
    fields.setdefault("container_format", "bare")
    resp = client.post("/v2/images", headers=headers, json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json


def _upload(client, headers, image_id, data=b"image bytes", store=None):
    extra = dict(OCTET, **({"X-Image-Meta-Store": store} if store else {}))
    return client.put("/v2/images/%s/file" % image_id, data=data,
                      headers=dict(headers, **extra))


def test_info_stores_lists_ids_descriptions_and_the_default_as_glance(multi, as_):
    resp = multi.get("/v2/info/stores", headers=as_("alice", "tenant-a"))

    assert resp.status_code == 200
    assert resp.json == {"stores": [
        {"id": "fast", "description": "Fast disks", "default": "true"},
        {"id": "cheap"},
        {"id": "web", "read-only": "true"}]}


def test_store_details_are_for_admins_and_services_only(multi, as_, tmp_path):
    refused = multi.get("/v2/info/stores/detail", headers=as_("alice", "tenant-a"))
    assert refused.status_code == 403
    assert "stores_info_detail" in refused.json["message"]

    for headers in (as_("root", "admin", ("admin",)), as_("nova", "service", ("service",))):
        detail = multi.get("/v2/info/stores/detail", headers=headers)
        assert detail.status_code == 200
        fast = detail.json["stores"][0]
        assert (fast["type"], fast["weight"]) == ("file", 10)
        assert fast["properties"]["data_dir"] == str(tmp_path / "fast")


def test_single_store_mode_has_no_stores_api(client, as_):
    admin = as_("root", "admin", ("admin",))
    assert client.get("/v2/info/stores", headers=admin).status_code == 404
    assert client.get("/v2/info/stores/detail", headers=admin).status_code == 404
    assert client.delete("/v2/stores/file/x", headers=admin).status_code == 404
    listed = [v["id"] for v in client.get("/versions").json["versions"]]
    assert "v2.11" not in listed and "v2.9" in listed


def test_multistore_lists_its_versions_and_routes_their_aliases(multi, as_):
    versions = multi.get("/versions").json["versions"]
    listed = {v["id"]: v["status"] for v in versions}

    assert {"v2.8", "v2.10", "v2.11"} <= set(listed)
    newest = max(listed, key=lambda vid: (vid[:2], int(vid.rpartition(".")[2])))
    assert listed[newest] == "CURRENT" and listed["v2.9"] == "SUPPORTED"
    assert multi.get("/v2.11/images", headers=as_("alice", "tenant-a")).status_code == 200


def test_an_upload_goes_to_the_store_the_header_names(multi, as_, tmp_path, registry):
    alice = as_("alice", "tenant-a")
    image = _image(multi, alice)

    assert _upload(multi, alice, image["id"], store="cheap").status_code == 204
    assert (tmp_path / "cheap" / image["id"]).read_bytes() == b"image bytes"
    assert registry.images[image["id"]]["locations"][0]["metadata"] == {"store": "cheap"}
    shown = multi.get("/v2/images/" + image["id"], headers=alice).json
    assert shown["stores"] == "cheap"
    other = _image(multi, alice)
    assert _upload(multi, alice, other["id"]).status_code == 204
    assert multi.get("/v2/images/" + other["id"], headers=alice).json["stores"] == "fast"


@pytest.mark.parametrize("store, message", [
    ("nosuch", "Store for identifier nosuch not found"),
    ("os_glance_staging_store", "Store for identifier os_glance_staging_store not found"),
    ("web", "read-only")])
def test_an_upload_to_an_unknown_or_read_only_store_is_refused(multi, as_, store, message):
    alice = as_("alice", "tenant-a")
    image = _image(multi, alice)

    resp = _upload(multi, alice, image["id"], store=store)

    assert resp.status_code == 400 and message in resp.json["message"]
    assert multi.get("/v2/images/" + image["id"], headers=alice).json["status"] == "queued"


def test_removing_stores_is_a_no_op_where_it_is_shown(multi, client, as_):
    alice = as_("alice", "tenant-a")
    remove = json.dumps([{"op": "remove", "path": "/stores"},
                         {"op": "replace", "path": "/name", "value": "renamed"}])
    headers = dict(alice, **{"Content-Type": PATCH})
    image = _image(multi, alice)
    _upload(multi, alice, image["id"])

    resp = multi.patch("/v2/images/" + image["id"], data=remove, headers=headers)

    assert resp.status_code == 200, resp.text
    assert (resp.json["stores"], resp.json["name"]) == ("fast", "renamed")
    # Single-store documents have no stores to remove: read-only, as before.
    plain = _image(client, alice)
    assert client.patch("/v2/images/" + plain["id"], data=remove,
                        headers=headers).status_code == 403


def _two_copies(multi, stores, registry, headers, data=b"copied bytes"):
    image = _image(multi, headers)
    assert _upload(multi, headers, image["id"], data=data).status_code == 204
    copy = stores.add(image["id"], io.BytesIO(data), store="cheap")
    registry.images[image["id"]]["locations"].append(
        {"url": copy.location, "metadata": {"store": "cheap"}, "status": "active"})
    return image["id"], copy.location


def test_an_admin_removes_one_stores_copy_and_the_image_stays_active(
        multi, stores, registry, as_, tmp_path):
    admin = as_("root", "admin", ("admin",))
    image_id, _ = _two_copies(multi, stores, registry, as_("alice", "tenant-a"))
    assert multi.get("/v2/images/" + image_id, headers=admin).json["stores"] == "fast,cheap"

    resp = multi.delete("/v2/stores/fast/" + image_id, headers=admin)

    assert resp.status_code == 204
    assert not (tmp_path / "fast" / image_id).exists()
    shown = multi.get("/v2/images/" + image_id, headers=admin).json
    assert (shown["status"], shown["stores"]) == ("active", "cheap")
    got = multi.get("/v2/images/%s/file" % image_id, headers=admin)
    assert got.status_code == 200 and got.data == b"copied bytes"
    last = multi.delete("/v2/stores/cheap/" + image_id, headers=admin)
    assert last.status_code == 403 and "only store" in last.json["message"]
    assert (tmp_path / "cheap" / image_id).exists()


def test_removing_a_copy_is_refused_to_members_and_for_unknown_stores(
        multi, stores, registry, as_, tmp_path):
    alice, admin = as_("alice", "tenant-a"), as_("root", "admin", ("admin",))
    image_id, _ = _two_copies(multi, stores, registry, alice)

    assert multi.delete("/v2/stores/fast/" + image_id, headers=alice).status_code == 403
    unknown = multi.delete("/v2/stores/nosuch/" + image_id, headers=admin)
    assert unknown.status_code == 409 and "not available" in unknown.json["message"]
    missing = multi.delete("/v2/stores/fast/00000000-0000-0000-0000-000000000000",
                           headers=admin)
    assert missing.status_code == 404
    assert (tmp_path / "fast" / image_id).exists() and (tmp_path / "cheap" / image_id).exists()


def test_plan_removal_follows_glances_order_of_refusals():
    def image(status="active", *stores):
        return {"id": "i", "status": status, "locations": [
            {"url": "file:///%s/i" % s, "metadata": {"store": s}, "status": "active"}
            for s in stores]}

    with pytest.raises(Conflict):
        v2_stores.plan_removal(image("queued"), "fast")
    with pytest.raises(Forbidden, match="only store"):
        v2_stores.plan_removal(image("active", "fast"), "fast")
    with pytest.raises(NotFound, match="not stored in store web"):
        v2_stores.plan_removal(image("active", "fast", "cheap"), "web")
    removal = v2_stores.plan_removal(image("active", "fast", "cheap"), "fast")
    assert removal.location["url"] == "file:///fast/i"
    assert [loc["metadata"]["store"] for loc in removal.remaining] == ["cheap"]


def test_two_removals_of_an_images_two_copies_cannot_both_pass(
        multi, stores, registry, as_, tmp_path, monkeypatch):
    admin = as_("root", "admin", ("admin",))
    image_id, _ = _two_copies(multi, stores, registry, as_("alice", "tenant-a"))
    # This request read the image while it had both copies; another removal
    # of the cheap copy was recorded before this one writes.
    stale = copy.deepcopy(registry.images[image_id])
    registry.images[image_id]["locations"] = [
        loc for loc in registry.images[image_id]["locations"]
        if loc["metadata"]["store"] != "cheap"]
    real_get = registry.get
    monkeypatch.setattr(registry, "get", lambda ctx, i: copy.deepcopy(stale)
                        if i == image_id else real_get(ctx, i))

    resp = multi.delete("/v2/stores/fast/" + image_id, headers=admin)

    assert resp.status_code == 409, resp.text
    assert (tmp_path / "fast" / image_id).exists()  # the last copy stays
    monkeypatch.undo()
    shown = multi.get("/v2/images/" + image_id, headers=admin).json
    assert (shown["status"], shown["stores"]) == ("active", "fast")
