"""Sharing images: listing and changing members.

Who may share is glance-api's decision; the registry only hides images the
caller cannot see and needs a caller with a project.
"""

from __future__ import annotations

import uuid

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB
from registry_support import NOBODY
from registry_support import headers

CAROL = headers("carol")


def members(client, image_id, as_=ALICE):
    response = client.get("/images/%s/members" % image_id, headers=as_)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {m["member_id"]: m["can_share"] for m in response.get_json()["members"]}


def test_add_member_defaults_can_share_false_and_updates_it(client, create):
    image = create()
    url = "/images/%s/members/bob" % image["id"]
    assert client.put(url, headers=ALICE).status_code == 204
    assert members(client, image["id"]) == {"bob": False}
    listed = client.get("/images/%s/members" % image["id"],
                        headers=ALICE).get_json()["members"][0]
    assert listed["status"] == "pending" and listed["created_at"]
    assert client.put(url, headers=ALICE,
                      json={"member": {"can_share": True}}).status_code == 204
    assert members(client, image["id"]) == {"bob": True}
    assert client.put(url, headers=ALICE).status_code == 204  # no body: unchanged
    assert members(client, image["id"]) == {"bob": True}


def test_sharing_a_private_image_makes_it_shared(client, create):
    image = create(visibility="private")
    client.put("/images/%s/members/bob" % image["id"], headers=ALICE)
    shown = client.get("/images/" + image["id"], headers=BOB)
    assert shown.status_code == 200
    assert shown.get_json()["image"]["visibility"] == "shared"


def test_replace_members(client, create):
    image = create()
    url = "/images/%s/members" % image["id"]
    client.put(url + "/bob", headers=ALICE, json={"member": {"can_share": True}})
    client.put(url + "/carol", headers=ALICE)
    response = client.put(url, headers=ALICE, json={"memberships": [
        {"member_id": "bob"}, {"member_id": "dave", "can_share": True},
        {"member_id": "erin"}]})
    assert response.status_code == 204
    assert members(client, image["id"]) == {"bob": True, "dave": True, "erin": False}
    assert client.put(url, headers=ALICE, json={"memberships": []}).status_code == 204
    assert members(client, image["id"]) == {}


def test_a_removed_member_can_be_added_again(client, create):
    image = create()
    url = "/images/%s/members/bob" % image["id"]
    client.put(url, headers=ALICE, json={"member": {"can_share": True}})
    assert client.delete(url, headers=ALICE).status_code == 204
    client.put(url, headers=ALICE)
    assert members(client, image["id"]) == {"bob": False}


def test_deleting_a_non_member_is_404(client, create):
    image = create()
    response = client.delete("/images/%s/members/bob" % image["id"], headers=ALICE)
    assert response.status_code == 404
    assert response.get_json()["message"] == "Membership could not be found."


@pytest.mark.parametrize("body", [
    {"member": "yes"}, {"member": {"can_share": "yes"}}, ["bob"], {"other": {}}])
def test_malformed_member_bodies_are_400(client, create, body):
    image = create()
    response = client.put("/images/%s/members/bob" % image["id"], headers=ALICE,
                          json=body)
    assert response.status_code == 400


@pytest.mark.parametrize("body", [
    {}, {"memberships": "bob"}, {"memberships": [{"can_share": True}]},
    {"memberships": [{"member_id": "bob", "can_share": 1}]}, {"memberships": ["bob"]}])
def test_malformed_membership_lists_are_400(client, create, body):
    image = create()
    response = client.put("/images/%s/members" % image["id"], headers=ALICE,
                          json=body)
    assert response.status_code == 400


def test_anyone_who_sees_the_image_may_change_members_the_api_decides(client, create):
    image = create()
    url = "/images/%s/members" % image["id"]
    client.put(url + "/bob", headers=ALICE)  # bob: member, cannot share
    client.put(url + "/carol", headers=ALICE, json={"member": {"can_share": True}})
    assert client.put(url + "/dave", headers=ADMIN).status_code == 204
    assert client.put(url + "/erin", headers=CAROL).status_code == 204
    # can_share is glance-api's v1 rule; the registry takes bob's write.
    assert client.put(url + "/frank", headers=BOB).status_code == 204
    assert client.delete(url + "/dave", headers=BOB).status_code == 204
    assert members(client, image["id"]) == {
        "bob": False, "carol": True, "erin": False, "frank": False}


def test_changing_members_needs_a_caller_that_sees_the_image_and_has_a_project(
        client, create):
    image = create()
    url = "/images/%s/members" % image["id"]
    client.put(url + "/bob", headers=ALICE)
    stranger = client.put(url + "/frank", headers=headers("zed"))
    assert stranger.status_code == 404
    assert client.delete(url + "/bob", headers=headers("zed")).status_code == 404
    nobody = client.put(url + "/frank", headers=NOBODY)
    assert nobody.status_code == 401
    assert nobody.get_json()["message"] == "No authenticated user"
    assert members(client, image["id"]) == {"bob": False}


def test_a_public_image_takes_members_from_any_caller_that_sees_it(client, create):
    public = create(as_=ADMIN, is_public=True, owner="alice")
    response = client.put("/images/%s/members/x" % public["id"], headers=BOB)
    assert response.status_code == 204
    assert members(client, public["id"]) == {"x": False}


def test_members_of_deleted_or_unknown_images_are_404(client, create):
    image = create()
    client.delete("/images/" + image["id"], headers=ALICE)
    for caller in (ALICE, ADMIN):
        assert client.put("/images/%s/members/bob" % image["id"],
                          headers=caller).status_code == 404
        assert client.get("/images/%s/members" % image["id"],
                          headers=caller).status_code == 404
    assert client.get("/images/%s/members" % uuid.uuid4(),
                      headers=ALICE).status_code == 404


def test_anyone_who_sees_the_image_may_list_members(client, create):
    image = create()
    client.put("/images/%s/members/bob" % image["id"], headers=ALICE)
    assert members(client, image["id"], as_=BOB) == {"bob": False}
    assert client.get("/images/%s/members" % image["id"],
                      headers=CAROL).status_code == 404


def test_shared_images(client, create):
    mine = create()
    theirs = create(as_=CAROL)
    client.put("/images/%s/members/bob" % mine["id"], headers=ALICE,
               json={"member": {"can_share": True}})
    client.put("/images/%s/members/bob" % theirs["id"], headers=CAROL)

    def shared(member, as_):
        response = client.get("/shared-images/" + member, headers=as_)
        assert response.status_code == 200
        return {(s["image_id"], s["can_share"])
                for s in response.get_json()["shared_images"]}

    both = {(mine["id"], True), (theirs["id"], False)}
    assert shared("bob", ADMIN) == both
    assert shared("bob", BOB) == both
    assert shared("bob", ALICE) == {(mine["id"], True)}
    assert shared("bob", headers("zed")) == set()
    assert shared("bob", NOBODY) == set()
