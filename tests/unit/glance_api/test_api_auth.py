"""glance-api under auth_strategy = keystone, with ``responses`` standing in for Keystone."""

from __future__ import annotations

import pytest
from api_support import RecordingRegistry

from glance_api.app import create_app
from tests.keystone_mock import AUTH_URL

IMAGE_ID = "8ee1f3a4-1d2b-4c3a-9a55-0e1f6b7c8d9e"


@pytest.fixture
def registry():
    registry = RecordingRegistry()
    registry.images[IMAGE_ID] = {
        "id": IMAGE_ID, "name": "alice's", "owner": "tenant-a", "status": "queued",
        "visibility": "shared", "is_public": False, "protected": False,
        "size": None, "checksum": None, "disk_format": "raw",
        "container_format": "bare", "properties": {}, "locations": [],
        "min_disk": 0, "min_ram": 0, "deleted": False,
        "created_at": "2024-01-01T00:00:00.000000",
        "updated_at": "2024-01-01T00:00:00.000000", "deleted_at": None}
    return registry


@pytest.fixture
def client(make_conf, registry, keystone):
    app = create_app(make_conf(), registry=registry)
    return app.test_client()


def test_a_request_without_a_token_is_refused_with_401_and_where_to_get_one(client, keystone):
    resp = client.get("/v1/images")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="%s"' % AUTH_URL
    assert keystone.validations == []


def test_an_unknown_token_is_refused_with_401(client, keystone):
    resp = client.get("/v1/images", headers={"X-Auth-Token": "forged"})
    assert resp.status_code == 401
    assert "WWW-Authenticate" in resp.headers
    assert keystone.validations == ["forged"]


def test_a_revoked_token_is_refused(client, keystone):
    token = keystone.issue("alice", "tenant-a", ["member"])
    assert client.get("/v1/images", headers={"X-Auth-Token": token}).status_code == 200
    keystone.revoke(token)
    assert client.get("/v1/images", headers={"X-Auth-Token": token}).status_code == 401


def test_the_validated_identity_becomes_the_request_context(client, keystone, registry):
    token = keystone.issue("alice", "tenant-a", ["Member", "reader"])
    resp = client.get("/v1/images/detail", headers={"X-Auth-Token": token})
    assert resp.status_code == 200
    ctx = registry.contexts[-1]
    assert (ctx.user_id, ctx.project_id, ctx.roles) == ("alice", "tenant-a",
                                                        ("member", "reader"))
    assert not ctx.is_admin
    assert ctx.request_id == resp.headers["x-openstack-request-id"]


def test_identity_headers_sent_by_the_caller_are_not_believed(client, keystone, registry):
    token = keystone.issue("alice", "tenant-a", ["member"])
    resp = client.get("/v1/images", headers={
        "X-Auth-Token": token, "X-Roles": "admin", "X-Project-Id": "tenant-b",
        "X-Identity-Status": "Confirmed", "X-User-Id": "admin"})
    assert resp.status_code == 200
    ctx = registry.contexts[-1]
    assert (ctx.user_id, ctx.project_id, ctx.roles) == ("alice", "tenant-a", ("member",))


def test_health_and_versions_answer_without_a_token(client, registry):
    assert client.get("/healthcheck").status_code == 200
    assert client.get("/versions").status_code == 200
    assert client.get("/").status_code == 300
    assert registry.contexts[-1].roles == ()  # anonymous, not an admin


def test_with_delayed_auth_decision_an_invalid_token_still_gets_401(make_conf, registry,
                                                                     keystone):
    from tests.keystone_mock import authtoken_section
    conf = make_conf(keystone_authtoken=authtoken_section(delay_auth_decision=True))
    client = create_app(conf, registry=registry).test_client()
    resp = client.get("/v1/images", headers={"X-Auth-Token": "forged"})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="%s"' % AUTH_URL


def test_a_member_of_another_project_may_not_change_the_image(client, keystone, registry):
    registry.members_of[IMAGE_ID] = [{"member_id": "tenant-b", "can_share": False}]
    token = keystone.issue("bob", "tenant-b", ["member"])
    resp = client.put("/v1/images/" + IMAGE_ID, headers={
        "X-Auth-Token": token, "x-image-meta-name": "bob's now"})
    assert resp.status_code == 403
    assert registry.images[IMAGE_ID]["name"] == "alice's"


def test_the_owner_changes_the_image_but_may_not_make_it_public(client, keystone, registry):
    token = keystone.issue("alice", "tenant-a", ["member"])
    resp = client.put("/v1/images/" + IMAGE_ID, headers={
        "X-Auth-Token": token, "x-image-meta-name": "renamed"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    resp = client.put("/v1/images/" + IMAGE_ID, headers={
        "X-Auth-Token": token, "x-image-meta-is_public": "true"})
    assert resp.status_code == 403
    assert registry.images[IMAGE_ID]["visibility"] == "shared"


def test_an_admin_makes_an_image_public(client, keystone, registry):
    token = keystone.issue("admin", "admin", ["admin"])
    resp = client.put("/v1/images/" + IMAGE_ID, headers={
        "X-Auth-Token": token, "x-image-meta-is_public": "true"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert registry.images[IMAGE_ID]["visibility"] == "public"


def test_a_user_without_a_project_may_not_delete_an_ownerless_image(client, keystone,
                                                                     registry):
    registry.images[IMAGE_ID].update(owner=None, visibility="public")
    token = keystone.issue("loner", None, ["member"])
    resp = client.delete("/v1/images/" + IMAGE_ID, headers={"X-Auth-Token": token})
    assert resp.status_code == 403
    assert IMAGE_ID in registry.images
