"""v2 members: add (pending, can_share false), show one, set its status.

Who may call which (owner adds, the member accepts) and whether the image
must be shared are glance-api's decisions; the registry keeps the rows.
"""

from __future__ import annotations

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB
from registry_support import NOBODY
from registry_support import headers

CAROL = headers("carol")


def members_url(image_id: str) -> str:
    return "/images/%s/members" % image_id


def add(client, image_id, member="bob", as_=ALICE):
    return client.post(members_url(image_id), json={"member_id": member}, headers=as_)


def set_status(client, image_id, status, member="bob", as_=BOB):
    return client.put("%s/%s/status" % (members_url(image_id), member),
                      json={"status": status}, headers=as_)


def test_adding_a_member_makes_a_pending_row_without_can_share(client, create):
    image = create()
    answer = add(client, image["id"])
    assert answer.status_code == 201, answer.get_data(as_text=True)
    row = answer.get_json()["member"]
    assert row["member_id"] == "bob" and row["image_id"] == image["id"]
    assert row["status"] == "pending" and row["can_share"] is False
    assert row["created_at"] and row["updated_at"]
    listed = client.get(members_url(image["id"]), headers=ALICE).get_json()["members"]
    assert listed == [row]


def test_adding_a_live_member_again_is_409(client, create):
    image = create()
    add(client, image["id"])
    answer = add(client, image["id"])
    assert answer.status_code == 409
    assert "bob" in answer.get_json()["message"]


def test_a_removed_member_can_be_added_again_and_starts_pending(client, create):
    image = create()
    add(client, image["id"])
    set_status(client, image["id"], "accepted")
    client.delete(members_url(image["id"]) + "/bob", headers=ALICE)
    answer = add(client, image["id"])
    assert answer.status_code == 201
    assert answer.get_json()["member"]["status"] == "pending"


def test_adding_a_member_leaves_the_visibility_to_the_api(client, create):
    image = create(visibility="private")
    assert add(client, image["id"]).status_code == 201
    shown = client.get("/images/" + image["id"], headers=ALICE).get_json()["image"]
    assert shown["visibility"] == "private"


@pytest.mark.parametrize("body", [{}, {"member": "bob"}, {"member_id": 7},
                                  {"member_id": ""}, {"member_id": "x" * 256}, []])
def test_a_member_id_must_be_given_as_a_string(client, create, body):
    image = create()
    answer = client.post(members_url(image["id"]), json=body, headers=ALICE)
    assert answer.status_code == 400


def test_adding_needs_a_project_and_a_visible_live_image(client, create):
    image = create()
    assert add(client, image["id"], as_=NOBODY).status_code == 401
    assert add(client, image["id"], as_=CAROL).status_code == 404
    client.delete("/images/" + image["id"], headers=ALICE)
    assert add(client, image["id"]).status_code == 404
    assert add(client, "not-an-id").status_code == 404


def test_showing_one_member(client, create):
    image = create()
    add(client, image["id"])
    answer = client.get(members_url(image["id"]) + "/bob", headers=BOB)
    assert answer.status_code == 200
    assert answer.get_json()["member"]["member_id"] == "bob"
    missing = client.get(members_url(image["id"]) + "/carol", headers=ALICE)
    assert missing.status_code == 404
    assert "carol not found in the member list" in missing.get_json()["message"]
    assert client.get(members_url(image["id"]) + "/bob",
                      headers=CAROL).status_code == 404


def test_a_member_sets_its_status(client, create):
    image = create()
    added = add(client, image["id"]).get_json()["member"]
    answer = set_status(client, image["id"], "accepted")
    assert answer.status_code == 200
    row = answer.get_json()["member"]
    assert row["status"] == "accepted" and row["can_share"] is False
    assert row["updated_at"] > added["updated_at"]
    assert row["created_at"] == added["created_at"]
    assert set_status(client, image["id"], "rejected", as_=ADMIN).get_json()[
        "member"]["status"] == "rejected"


@pytest.mark.parametrize("body", [{"status": "maybe"}, {"status": None}, {},
                                  {"member": "bob"}, ["accepted"]])
def test_an_unknown_status_is_400(client, create, body):
    image = create()
    add(client, image["id"])
    answer = client.put(members_url(image["id"]) + "/bob/status", json=body,
                        headers=BOB)
    assert answer.status_code == 400


def test_setting_the_status_of_a_non_member_is_404(client, create):
    image = create()
    assert set_status(client, image["id"], "accepted").status_code == 404
    add(client, image["id"])
    client.delete(members_url(image["id"]) + "/bob", headers=ALICE)
    assert set_status(client, image["id"], "accepted").status_code == 404


def test_the_member_status_decides_the_v2_list_but_not_v1s(client, create):
    image = create()
    add(client, image["id"])

    def v2(status="accepted"):
        found = client.get("/images", headers=BOB,
                           query_string={"member_status": status}).get_json()
        return [i["id"] for i in found["images"]]

    assert v2() == [] and v2("pending") == [image["id"]]
    assert [i["id"] for i in client.get("/images", headers=BOB).get_json()[
        "images"]] == [image["id"]]
    set_status(client, image["id"], "accepted")
    assert v2() == [image["id"]] and v2("pending") == []


def test_v1_sharing_keeps_can_share_and_the_v2_status(client, create):
    image = create()
    add(client, image["id"])
    set_status(client, image["id"], "accepted")
    url = members_url(image["id"]) + "/bob"
    assert client.put(url, json={"member": {"can_share": True}},
                      headers=ALICE).status_code == 204
    row = client.get(url, headers=ALICE).get_json()["member"]
    assert row["can_share"] is True and row["status"] == "accepted"
