"""Two projects and an admin against a real Keystone: isolation, sharing, trust.

alice (tenant-a) and bob (tenant-b) are ordinary members; admin holds the
admin role. Both daemons validate tokens with keystonemiddleware; the api
calls the registry with the ``glance`` service user's token.
"""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from tests.pairs import Glance
from tests.pairs import database


@pytest.fixture(scope="module")
def glance(request, tmp_path_factory, real_keystone):
    pair = Glance(tmp_path_factory.mktemp("keystone-pair"),
                  database(request, tmp_path_factory, "sqlite"),
                  keystone=real_keystone.authtoken_section(),
                  service_token=lambda: real_keystone.token("glance"))
    yield pair
    pair.stop()


@pytest.fixture(scope="module")
def tokens(real_keystone):
    return {user: real_keystone.token(user) for user in ("alice", "bob", "admin")}


@pytest.fixture
def as_(glance, tokens):
    """``as_("alice").get(path)``: a call to the api with that user's token."""

    def _as(user):
        session = requests.Session()
        session.headers["X-Auth-Token"] = tokens[user]
        session.base = glance.url

        class Caller:
            def __getattr__(self, method):
                return lambda path, **kw: session.request(method.upper(),
                                                          glance.url + path, **kw)
        return Caller()

    return _as


def _create(caller, data: bytes = b"", **meta) -> dict:
    headers = {"x-image-meta-name": "img", "x-image-meta-disk_format": "raw",
               "x-image-meta-container_format": "bare",
               "Content-Type": "application/octet-stream"}
    headers.update({"x-image-meta-%s" % k: str(v) for k, v in meta.items()})
    resp = caller.post("/v1/images", headers=headers, data=data)
    assert resp.status_code == 201, resp.text
    return resp.json()["image"]


def _listed(caller, image_id: str) -> bool:
    brief = caller.get("/v1/images").json()["images"]
    detail = caller.get("/v1/images/detail").json()["images"]
    assert (image_id in {i["id"] for i in brief}) == (image_id in {i["id"] for i in detail})
    return image_id in {i["id"] for i in brief}


def test_a_private_image_is_invisible_to_another_project_on_every_endpoint(as_, real_keystone):
    alice, bob = as_("alice"), as_("bob")
    image = _create(alice, b"alice's bytes")
    path = "/v1/images/" + image["id"]
    assert image["owner"] == real_keystone.ids["projects"]["tenant-a"]
    assert _listed(alice, image["id"])

    assert not _listed(bob, image["id"])
    assert bob.head(path).status_code == 404
    assert bob.get(path).status_code == 404
    assert bob.put(path, headers={"x-image-meta-name": "mine"}).status_code == 404
    assert bob.delete(path).status_code == 404
    assert bob.get(path + "/members").status_code == 404
    assert bob.put(path + "/members/x", json={"member": {"can_share": False}}
                   ).status_code == 404
    assert bob.put(path + "/members", json={"memberships": []}).status_code == 404
    assert bob.delete(path + "/members/x").status_code == 404

    assert alice.get(path).content == b"alice's bytes"
    assert alice.head(path).headers["x-image-meta-name"] == "img"
    assert as_("admin").head(path).status_code == 200


def test_sharing_lets_a_member_see_and_download_but_not_change(as_, real_keystone):
    alice, bob = as_("alice"), as_("bob")
    tenant_b = real_keystone.ids["projects"]["tenant-b"]
    image = _create(alice, b"shared bytes")
    path = "/v1/images/" + image["id"]
    assert alice.put(path + "/members/" + tenant_b).status_code == 204

    assert _listed(bob, image["id"])
    assert bob.head(path).status_code == 200
    assert bob.get(path).content == b"shared bytes"
    assert bob.get(path + "/members").json()["members"] == [
        {"member_id": tenant_b, "can_share": False}]
    shared = bob.get("/v1/shared-images/" + tenant_b).json()["shared_images"]
    assert {"image_id": image["id"], "can_share": False} in shared

    assert bob.put(path, headers={"x-image-meta-name": "bob's"}).status_code == 403
    assert bob.put(path, headers={"x-image-meta-is_public": "true"}).status_code == 403
    assert bob.delete(path).status_code == 403
    assert bob.put(path + "/members/tenant-c").status_code == 403
    assert alice.head(path).headers["x-image-meta-name"] == "img"


def test_a_member_with_can_share_shares_further_and_the_owner_takes_it_back(
        as_, real_keystone):
    alice, bob = as_("alice"), as_("bob")
    tenant_b = real_keystone.ids["projects"]["tenant-b"]
    image = _create(alice, b"x")
    path = "/v1/images/" + image["id"]
    assert alice.put(path + "/members/" + tenant_b,
                     json={"member": {"can_share": True}}).status_code == 204
    assert bob.put(path + "/members/tenant-c").status_code == 204
    members = {m["member_id"] for m in alice.get(path + "/members").json()["members"]}
    assert members == {tenant_b, "tenant-c"}

    assert alice.delete(path + "/members/" + tenant_b).status_code == 204
    assert bob.head(path).status_code == 404
    assert bob.get(path).status_code == 404


def test_only_an_admin_makes_an_image_public(as_):
    alice, bob = as_("alice"), as_("bob")
    refused = alice.post("/v1/images", headers={
        "x-image-meta-name": "pub", "x-image-meta-is_public": "true"})
    assert refused.status_code == 403
    image = _create(alice)
    path = "/v1/images/" + image["id"]
    assert alice.put(path, headers={"x-image-meta-is_public": "true"}).status_code == 403
    assert as_("admin").put(path, headers={"x-image-meta-is_public": "true"}
                            ).status_code == 200
    assert bob.head(path).status_code == 200
    assert _listed(bob, image["id"])
    assert bob.put(path, headers={"x-image-meta-name": "bob's"}).status_code == 403


def test_the_shared_images_of_a_project_are_private_to_it(as_, real_keystone):
    alice = as_("alice")
    tenant_b = real_keystone.ids["projects"]["tenant-b"]
    image = _create(alice)
    alice.put("/v1/images/%s/members/%s" % (image["id"], tenant_b))
    # alice sees the memberships on her own images; admin sees them all.
    ids = lambda caller: {s["image_id"] for s in caller.get(  # noqa: E731
        "/v1/shared-images/" + tenant_b).json()["shared_images"]}
    assert image["id"] in ids(alice)
    assert image["id"] in ids(as_("admin"))
    other = _create(as_("admin"), owner="someone-else")
    as_("admin").put("/v1/images/%s/members/%s" % (other["id"], tenant_b))
    assert other["id"] not in ids(alice)


def test_no_token_or_a_bad_token_gets_401_with_where_to_authenticate(glance, real_keystone):
    for headers in ({}, {"X-Auth-Token": "not-a-token"}):
        resp = requests.get(glance.url + "/v1/images", headers=headers)
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"] == 'Keystone uri="%s"' % real_keystone.auth_url
    assert requests.get(glance.url + "/healthcheck").status_code == 200
    assert requests.get(glance.url + "/versions").status_code == 200


def test_the_registry_refuses_identity_claimed_without_proof(glance, tokens, real_keystone):
    url = glance.registry.url + "/images/detail?is_public=None"
    forged = {"X-Glance-Context-Roles": "admin", "X-Glance-Context-Project": "tenant-a",
              "X-Roles": "admin,service", "X-Identity-Status": "Confirmed",
              "Accept": "application/json"}
    assert requests.get(url, headers=forged).status_code == 401
    assert requests.get(url, headers=dict(forged, **{"X-Auth-Token": "bogus"})
                        ).status_code == 401
    # A valid user token does not make its holder glance-api.
    assert requests.get(url, headers=dict(forged, **{"X-Auth-Token": tokens["bob"]})
                        ).status_code == 403
    # glance-api's service user may act for a user.
    resp = requests.get(url, headers=dict(forged, **{
        "X-Auth-Token": real_keystone.token("glance")}))
    assert resp.status_code == 200
    assert requests.get(glance.registry.url + "/healthcheck").status_code == 200


def test_a_user_calling_the_registry_directly_acts_only_as_itself(as_, glance, tokens):
    image = _create(as_("alice"), b"a")
    resp = requests.get(glance.registry.url + "/images/" + image["id"], headers={
        "X-Auth-Token": tokens["bob"], "Accept": "application/json"})
    assert resp.status_code == 404
    resp = requests.get(glance.registry.url + "/images/" + image["id"], headers={
        "X-Auth-Token": tokens["alice"], "Accept": "application/json"})
    assert resp.status_code == 200


def test_the_image_data_round_trips_with_its_checksum(as_):
    data = os.urandom(256 * 1024 + 3)
    image = _create(as_("alice"), data)
    assert image["checksum"] == hashlib.md5(data).hexdigest()
    assert as_("alice").get("/v1/images/" + image["id"]).content == data
