"""The scrubber's compare-and-set status changes, on both databases."""

from __future__ import annotations

from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB


def _pending(client, create):
    image = create(name="doomed", status="active", properties={"os": "cirros"},
                   locations=[{"url": "file:///data/x", "metadata": {"store": "file"}}])
    assert client.put("/images/%s/members/%s" % (image["id"], "bob-project"),
                      headers=ALICE).status_code == 204
    resp = client.delete("/images/%s?status=pending_delete" % image["id"], headers=ALICE)
    assert resp.get_json()["image"]["status"] == "pending_delete"
    return image


def test_restore_brings_back_what_the_delete_took(client, create):
    image = _pending(client, create)
    resp = client.post("/images/%s/restore" % image["id"], headers=ADMIN)
    assert resp.status_code == 200
    restored = resp.get_json()["image"]
    assert (restored["status"], restored["deleted"], restored["deleted_at"]) == (
        "active", False, None)
    assert restored["properties"] == {"os": "cirros"}
    assert [loc["status"] for loc in restored["locations"]] == ["active"]
    members = client.get("/images/%s/members" % image["id"], headers=ALICE).get_json()
    assert [m["member_id"] for m in members["members"]] == ["bob-project"]


def test_scrubbed_retires_the_image_and_its_locations(client, create):
    image = _pending(client, create)
    resp = client.post("/images/%s/scrubbed" % image["id"], headers=ADMIN)
    assert resp.status_code == 200
    assert resp.get_json()["image"]["status"] == "deleted"
    assert resp.get_json()["image"]["locations"] == []


def test_only_one_of_restore_and_scrub_wins(client, create):
    image = _pending(client, create)
    assert client.post("/images/%s/scrubbed" % image["id"], headers=ADMIN).status_code == 200
    assert client.post("/images/%s/restore" % image["id"], headers=ADMIN).status_code == 409
    assert client.post("/images/%s/scrubbed" % image["id"], headers=ADMIN).status_code == 409


def test_only_admins_may_and_only_known_images(client, create):
    image = _pending(client, create)
    for who in (ALICE, BOB):
        assert client.post("/images/%s/restore" % image["id"], headers=who).status_code == 403
    unknown = "6f1b2c3d-0000-4000-8000-000000000000"
    assert client.post("/images/%s/restore" % unknown, headers=ADMIN).status_code == 404
    active = create(name="alive", status="active")
    assert client.post("/images/%s/restore" % active["id"], headers=ADMIN).status_code == 409
