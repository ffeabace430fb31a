"""Member, property and tag quotas travel with the write: when the api's own
count was stale (a concurrent request took the last place), the registry's
413 is what the client gets, in the words of the API version it speaks."""

from __future__ import annotations

import copy
import json

import pytest

from glance_api.app import create_app
from tests.unit.glance_api.api_support import FakeRegistry
from tests.unit.glance_api.api_support import file_stores

QUOTA = 2
PATCH = "application/openstack-images-v2.1-json-patch"


class StaleReads(FakeRegistry):
    """Reads miss the newest member and property: another request's write
    landed after the api read and before it wrote. Records the quotas each
    write carried."""

    def __init__(self):
        super().__init__()
        self.quotas: list[dict] = []

    def update(self, ctx, image_id, changes, from_state=None, purge_props=False,
               property_quota=None, tag_quota=None):
        self.quotas.append({"property_quota": property_quota, "tag_quota": tag_quota})
        return super().update(ctx, image_id, changes, from_state, purge_props,
                              property_quota=property_quota, tag_quota=tag_quota)

    def replace_members(self, ctx, image_id, memberships, member_quota=None):
        self.quotas.append({"member_quota": member_quota})
        return super().replace_members(ctx, image_id, memberships, member_quota)

    def members(self, ctx, image_id):
        return super().members(ctx, image_id)[:-1]

    def get(self, ctx, image_id):
        image = super().get(ctx, image_id)
        image["properties"] = dict(list(image["properties"].items())[:-1])
        return image


@pytest.fixture
def registry():
    return StaleReads()


@pytest.fixture
def client(make_conf, registry, keystone, tmp_path):
    conf = make_conf(default={"image_member_quota": QUOTA, "image_property_quota": QUOTA,
                              "image_tag_quota": QUOTA})
    app = create_app(conf, registry=registry, stores=file_stores(tmp_path))
    return app.test_client()


@pytest.fixture
def alice(keystone):
    return {"X-Auth-Token": keystone.issue("alice", "tenant-a", ["member", "reader"]),
            "Accept": "application/json"}


def _full_image(registry, **fields):
    image = registry.add(owner="tenant-a", **fields)
    registry.members_of[image["id"]] = [
        {"member_id": "p%d" % n, "can_share": False, "status": "pending"}
        for n in range(QUOTA)]
    return image


def test_v1_add_member_past_a_stale_count_is_the_registrys_413_in_v1_words(
        client, registry, alice):
    image = _full_image(registry)
    resp = client.put("/v1/images/%s/members/late" % image["id"], headers=alice)
    assert resp.status_code == 413
    assert "An image may have at most %d members." % QUOTA in resp.text
    assert len(registry.members_of[image["id"]]) == QUOTA


def test_v1_member_list_replacement_carries_the_quota(client, registry, alice):
    image = _full_image(registry)
    body = {"memberships": [{"member_id": m} for m in ("a", "b")]}
    assert client.put("/v1/images/%s/members" % image["id"], headers=alice,
                      json=body).status_code == 204
    assert registry.quotas == [{"member_quota": QUOTA}]


def test_v2_add_member_past_a_stale_count_is_413_in_glances_words(client, registry, alice):
    image = _full_image(registry, visibility="shared")
    resp = client.post("/v2/images/%s/members" % image["id"], headers=alice,
                       json={"member": "late"})
    assert resp.status_code == 413
    assert ("The limit has been exceeded on the number of allowed image members for "
            "this image. Attempted: %d, Maximum: %d" % (QUOTA + 1, QUOTA)) in resp.text
    assert len(registry.members_of[image["id"]]) == QUOTA


def test_v2_patch_adding_a_property_past_a_stale_count_is_413(client, registry, alice):
    image = registry.add(owner="tenant-a", properties={"a": "1", "b": "2"})
    before = copy.deepcopy(registry.images[image["id"]])
    resp = client.patch("/v2/images/" + image["id"], headers=dict(alice, **{
        "Content-Type": PATCH}), data=json.dumps([
            {"op": "add", "path": "/late", "value": "x"}]))
    assert resp.status_code == 413
    assert ("The limit has been exceeded on the number of allowed image properties. "
            "Attempted: 3, Maximum: 2") in resp.text
    assert registry.images[image["id"]]["properties"] == before["properties"]


def test_v2_tag_writes_carry_the_tag_quota(client, registry, alice):
    image = registry.add(owner="tenant-a", tags=["x"])
    assert client.put("/v2/images/%s/tags/z" % image["id"], headers=alice).status_code == 204
    resp = client.patch("/v2/images/" + image["id"], headers=dict(alice, **{
        "Content-Type": PATCH}), data=json.dumps([
            {"op": "replace", "path": "/tags", "value": ["a"]}]))
    assert resp.status_code == 200
    assert registry.quotas == [{"property_quota": None, "tag_quota": QUOTA},
                               {"property_quota": QUOTA, "tag_quota": QUOTA}]
