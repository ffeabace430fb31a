"""Creating, reading, updating and deleting images through the registry API."""

from __future__ import annotations

import re
import uuid

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB
from registry_support import NOBODY

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
FULL_KEYS = {"id", "name", "disk_format", "container_format", "size",
             "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
             "status", "visibility", "is_public", "protected", "os_hidden",
             "min_disk", "min_ram", "owner", "created_at", "updated_at",
             "deleted_at", "deleted", "properties", "tags", "locations"}


def test_create_returns_the_full_image_with_defaults(client):
    response = client.post("/images", json={"image": {"name": "cirros"}},
                           headers=ALICE)
    assert response.status_code == 201
    image = response.get_json()["image"]
    assert set(image) == FULL_KEYS
    assert image["status"] == "queued"
    assert image["visibility"] == "shared" and image["is_public"] is False
    assert image["owner"] == "alice"
    assert image["min_disk"] == 0 and image["protected"] is False
    assert TIMESTAMP.match(image["created_at"]) and image["deleted_at"] is None
    assert uuid.UUID(image["id"])


def test_create_keeps_every_given_field_and_children(client, create):
    image_id = str(uuid.uuid4())
    image = create(id=image_id, name="n", disk_format="qcow2",
                   container_format="bare", size=10, virtual_size=20,
                   checksum="a" * 32, os_hash_algo="sha512",
                   os_hash_value="b" * 128, status="active", protected=True,
                   os_hidden=True, min_disk=1, min_ram=2,
                   properties={"arch": "x86_64"}, tags=["t1", "t2"],
                   locations=[{"url": "file:///a", "metadata": {"store": "f"}},
                              {"url": "file:///b", "status": "pending_delete"}])
    shown = client.get("/images/" + image_id, headers=ALICE).get_json()["image"]
    assert shown == image
    assert image["id"] == image_id and image["size"] == 10
    assert image["properties"] == {"arch": "x86_64"}
    assert image["tags"] == ["t1", "t2"]
    assert [(loc["url"], loc["metadata"], loc["status"])
            for loc in image["locations"]] == [
        ("file:///a", {"store": "f"}, "active"),
        ("file:///b", {}, "pending_delete")]


def test_owner_is_the_callers_project_unless_an_admin_names_one(create):
    assert create(as_=ALICE, owner="bob")["owner"] == "alice"
    assert create(as_=ADMIN, owner="bob")["owner"] == "bob"
    assert create(as_=ADMIN)["owner"] == "admin-project"


def test_is_public_maps_onto_visibility(create):
    assert create(as_=ADMIN, is_public=True)["visibility"] == "public"
    assert create(as_=ADMIN, is_public=False)["visibility"] == "shared"
    assert create(visibility="private")["visibility"] == "private"


def test_who_may_publicise_is_the_apis_decision_not_the_registrys(create):
    # glance-api enforces publicize_image before it calls.
    assert create(as_=ALICE, is_public=True)["visibility"] == "public"
    assert create(as_=ALICE, visibility="public")["visibility"] == "public"


def test_amazon_formats_pair_up(create, client):
    image = create(disk_format="ami")
    assert image["container_format"] == "ami"
    response = client.post("/images", json={"image": {
        "disk_format": "ami", "container_format": "bare"}}, headers=ALICE)
    assert response.status_code == 400


@pytest.mark.parametrize("fields, message", [
    ({"id": "not-a-uuid"}, "Invalid image id format"),
    ({"disk_format": "floppy"}, "Invalid disk format 'floppy' for image."),
    ({"container_format": "zip"}, "Invalid container format 'zip' for image."),
    ({"name": "x" * 256}, "name"),
    ({"size": -1}, "size"),
    ({"size": "10"}, "size"),
    ({"min_ram": True}, "min_ram"),
    ({"checksum": "c" * 33}, "checksum"),
    ({"status": "sleeping"}, "sleeping"),
    ({"visibility": "secret"}, "secret"),
    ({"protected": "yes"}, "protected"),
    ({"colour": "blue"}, "colour"),
    ({"properties": {"k": 1}}, "k"),
    ({"properties": ["k"]}, "properties"),
    ({"properties": {"k": "v" * 65536}}, "65535"),
    ({"tags": "t"}, "tags"),
    ({"locations": [{"metadata": {}}]}, "url"),
    ({"locations": [{"url": "file:///x", "status": "gone"}]}, "gone"),
])
def test_create_rejects_bad_fields_saying_what_was_wrong(client, fields, message):
    response = client.post("/images", json={"image": fields}, headers=ALICE)
    assert response.status_code == 400
    assert message in response.get_json()["message"]


def test_create_rejects_bodies_that_are_not_an_image_object(client):
    assert client.post("/images", data="{", headers=ALICE).status_code == 400
    assert client.post("/images", json={"name": "x"}, headers=ALICE).status_code == 400
    assert client.post("/images", json={"image": []}, headers=ALICE).status_code == 400


def test_duplicate_ids_conflict_even_after_deletion(client, create):
    image = create()
    response = client.post("/images", json={"image": {"id": image["id"]}},
                           headers=ALICE)
    assert response.status_code == 409
    assert response.get_json()["message"] == (
        "An image with identifier %s already exists" % image["id"])
    client.delete("/images/" + image["id"], headers=ALICE)
    response = client.post("/images", json={"image": {"id": image["id"]}},
                           headers=ALICE)
    assert response.status_code == 409


def test_show_is_404_for_unknown_and_malformed_ids(client):
    assert client.get("/images/%s" % uuid.uuid4(), headers=ALICE).status_code == 404
    assert client.get("/images/nope", headers=ALICE).status_code == 404


def test_update_changes_fields_and_bumps_updated_at(client, create):
    image = create(name="old", properties={"a": "1", "b": "2"})
    response = client.put("/images/" + image["id"], headers=ALICE, json={
        "image": {"name": "new", "properties": {"b": "3", "c": "4"}}})
    assert response.status_code == 200
    updated = response.get_json()["image"]
    assert updated["name"] == "new"
    assert updated["properties"] == {"a": "1", "b": "3", "c": "4"}
    assert updated["updated_at"] > image["updated_at"]


def test_update_with_purge_props_replaces_properties(client, create):
    image = create(properties={"a": "1", "b": "2"})
    updated = client.put("/images/" + image["id"], headers=ALICE, json={
        "image": {"properties": {"b": "2"}}, "purge_props": True}).get_json()["image"]
    assert updated["properties"] == {"b": "2"}
    again = client.put("/images/" + image["id"], headers=ALICE, json={
        "image": {"properties": {"a": "back"}}}).get_json()["image"]
    assert again["properties"] == {"a": "back", "b": "2"}


def test_empty_update_is_a_heartbeat(client, create):
    image = create()
    updated = client.put("/images/" + image["id"], headers=ALICE,
                         json={"image": {}}).get_json()["image"]
    assert updated["updated_at"] > image["updated_at"]
    assert {k: v for k, v in updated.items() if k != "updated_at"} == {
        k: v for k, v in image.items() if k != "updated_at"}


def test_update_locations_replaces_the_list(client, create):
    image = create(locations=[{"url": "file:///a"}, {"url": "file:///b"}])
    kept = image["locations"][1]
    updated = client.put("/images/" + image["id"], headers=ALICE, json={
        "image": {"locations": [{"url": "file:///b", "metadata": {"m": 1}},
                                {"url": "file:///c"}]}}).get_json()["image"]
    assert [loc["url"] for loc in updated["locations"]] == ["file:///b", "file:///c"]
    assert updated["locations"][0]["id"] == kept["id"]
    assert updated["locations"][0]["metadata"] == {"m": 1}


def test_update_with_if_locations_is_compare_and_set_on_the_live_urls(client, create):
    image = create(locations=[{"url": "file:///a"}, {"url": "file:///b"}])
    path = "/images/" + image["id"]
    # Two writers read [a, b]; the first drops b, the second (stale) drops a.
    first = client.put(path, headers=ALICE, json={
        "image": {"locations": [{"url": "file:///a"}]},
        "if_locations": ["file:///b", "file:///a"]})
    assert first.status_code == 200, first.get_json()
    second = client.put(path, headers=ALICE, json={
        "image": {"locations": [{"url": "file:///b"}]},
        "if_locations": ["file:///a", "file:///b"]})
    assert second.status_code == 409
    shown = client.get(path, headers=ALICE).get_json()["image"]
    assert [loc["url"] for loc in shown["locations"]] == ["file:///a"]
    bad = client.put(path, headers=ALICE, json={"image": {}, "if_locations": "file:///a"})
    assert bad.status_code == 400


def test_update_with_from_state_is_compare_and_set(client, create):
    image = create(disk_format="raw", container_format="bare")
    url = "/images/" + image["id"]
    ok = client.put(url, headers=ALICE, json={
        "image": {"status": "saving"}, "from_state": "queued"})
    assert ok.status_code == 200 and ok.get_json()["image"]["status"] == "saving"
    late = client.put(url, headers=ALICE, json={
        "image": {"status": "saving"}, "from_state": "queued"})
    assert late.status_code == 409
    assert late.get_json()["message"].startswith(
        "Image status transition from queued")


def test_only_admins_change_the_owner(client, create):
    url = "/images/" + create()["id"]
    assert client.put(url, headers=ALICE, json={"image": {"owner": "bob"}}
                      ).get_json()["image"]["owner"] == "alice"
    assert client.put(url, headers=ADMIN, json={"image": {"owner": "bob"}}
                      ).get_json()["image"]["owner"] == "bob"
    # Now bob's, and not shared with alice: she no longer sees it.
    assert client.put(url, headers=ALICE, json={"image": {"name": "x"}}
                      ).status_code == 404


def test_update_of_a_visible_image_is_the_apis_decision(client, create):
    # modify_image and publicize_image are enforced by glance-api.
    mine = create()
    published = client.put("/images/" + mine["id"], headers=ALICE,
                           json={"image": {"is_public": True}})
    assert published.status_code == 200
    assert published.get_json()["image"]["visibility"] == "public"
    renamed = client.put("/images/" + mine["id"], headers=BOB,
                         json={"image": {"name": "bobs-name"}})
    assert renamed.status_code == 200
    assert renamed.get_json()["image"]["name"] == "bobs-name"
    assert renamed.get_json()["image"]["owner"] == "alice"
    unpublished = client.put("/images/" + mine["id"], headers=ALICE,
                             json={"image": {"is_public": False}})
    assert unpublished.get_json()["image"]["visibility"] == "shared"


def test_update_of_an_image_the_caller_cannot_see_is_404(client, create):
    hidden = create()
    for caller in (BOB, NOBODY):
        response = client.put("/images/" + hidden["id"], headers=caller,
                              json={"image": {"name": "x"}})
        assert response.status_code == 404
    shown = client.get("/images/" + hidden["id"], headers=ALICE).get_json()["image"]
    assert shown["name"] == hidden["name"]


def test_update_of_deleted_image_is_403_for_admins_404_for_others(client, create):
    image = create()
    client.delete("/images/" + image["id"], headers=ALICE)
    body = {"image": {"name": "x"}}
    admin = client.put("/images/" + image["id"], headers=ADMIN, json=body)
    assert admin.status_code == 403
    assert admin.get_json()["message"] == "Forbidden to update deleted image."
    assert client.put("/images/" + image["id"], headers=ALICE,
                      json=body).status_code == 404


def test_update_rejects_bad_bodies(client, create):
    url = "/images/" + create()["id"]
    assert client.put(url, headers=ALICE, json={"image": {"id": "x"}}).status_code == 400
    assert client.put(url, headers=ALICE, json={"image": {"size": -5}}).status_code == 400
    assert client.put(url, headers=ALICE, json={"image": {},
                                                "purge_props": "yes"}).status_code == 400
    assert client.put(url, headers=ALICE, json={"image": {},
                                                "from_state": 3}).status_code == 400


def test_delete_soft_deletes_and_returns_locations(client, create):
    image = create(properties={"a": "1"}, locations=[{"url": "file:///a"}])
    client.put("/images/%s/members/bob" % image["id"], headers=ALICE)
    response = client.delete("/images/" + image["id"], headers=ALICE)
    assert response.status_code == 200
    deleted = response.get_json()["image"]
    assert deleted["status"] == "deleted" and deleted["deleted"] is True
    assert TIMESTAMP.match(deleted["deleted_at"])
    assert [(loc["url"], loc["status"]) for loc in deleted["locations"]] == [
        ("file:///a", "deleted")]
    assert client.get("/images/" + image["id"], headers=ALICE).status_code == 404
    shown = client.get("/images/" + image["id"], headers=ADMIN).get_json()["image"]
    assert shown["deleted"] is True and shown["locations"] == []
    assert client.delete("/images/" + image["id"], headers=ADMIN).status_code == 404
    assert client.get("/shared-images/bob", headers=ADMIN).get_json() == {
        "shared_images": []}


def test_delete_pending_keeps_locations_for_the_scrubber(client, create):
    image = create(status="active", locations=[{"url": "file:///a"}])
    deleted = client.delete("/images/%s?status=pending_delete" % image["id"],
                            headers=ALICE).get_json()["image"]
    assert deleted["status"] == "pending_delete"
    assert deleted["locations"][0]["status"] == "pending_delete"
    shown = client.get("/images/" + image["id"], headers=ADMIN).get_json()["image"]
    assert shown["locations"][0]["status"] == "pending_delete"
    again = client.delete("/images/" + image["id"], headers=ADMIN)
    assert again.status_code == 403


def test_delete_refuses_protected_images_and_hides_invisible_ones(client, create):
    protected = create(protected=True)
    response = client.delete("/images/" + protected["id"], headers=ADMIN)
    assert response.status_code == 403
    assert response.get_json()["message"] == "Image is protected"
    hidden = create()
    assert client.delete("/images/" + hidden["id"], headers=BOB).status_code == 404
    assert client.get("/images/" + hidden["id"], headers=ALICE).status_code == 200


def test_delete_of_a_visible_image_is_the_apis_decision(client, create):
    # delete_image is enforced by glance-api before it calls.
    for caller in (BOB, NOBODY):
        public = create(as_=ADMIN, is_public=True)
        response = client.delete("/images/" + public["id"], headers=caller)
        assert response.status_code == 200
        assert response.get_json()["image"]["status"] == "deleted"


def test_errors_are_plain_text_without_a_json_accept(client):
    response = client.get("/images/nope")
    assert response.status_code == 404
    assert response.mimetype == "text/plain"


def test_request_id_is_echoed(client):
    rid = "req-%s" % uuid.uuid4()
    response = client.get("/images", headers={"X-Openstack-Request-Id": rid})
    assert response.headers["x-openstack-request-id"] == rid


def test_healthcheck(client):
    response = client.get("/healthcheck")
    assert response.status_code == 200 and response.get_data() == b"OK"


def test_a_null_property_value_removes_that_property(client, create):
    image = create(properties={"a": "1", "b": "2"})
    updated = client.put("/images/" + image["id"], headers=ALICE, json={
        "image": {"properties": {"a": None, "c": "3"}}}).get_json()["image"]
    assert updated["properties"] == {"b": "2", "c": "3"}
