"""The image status machine: the table itself, and every write of a status
through the registry (update, delete, the scrubber's moves) obeying it."""

from __future__ import annotations

import pytest
from registry_support import ADMIN
from registry_support import ALICE

from glance_registry import status
from glance_registry import validation
from glance_registry.errors import BadRequest
from glance_registry.errors import Conflict

FORMATS = {"disk_format": "raw", "container_format": "bare"}

GLANCE_TABLE = {  # spec v2 section 12
    "queued": {"saving", "uploading", "importing", "active", "deleted"},
    "saving": {"active", "queued", "killed", "deleted"},
    "uploading": {"importing", "queued", "deleted"},
    "importing": {"active", "queued", "deleted"},
    "active": {"deactivated", "pending_delete", "deleted"},
    "deactivated": {"active", "deleted"},
    "pending_delete": {"active", "deleted"},
    "killed": {"deleted"},
    "deleted": set(),
}
V1_EXTENSIONS = {("queued", "killed"), ("deactivated", "pending_delete")}

ALLOWED = sorted((current, wanted) for current, nexts in status.TRANSITIONS.items()
                 for wanted in nexts)


# The table, without a database.

def test_the_table_is_glances_plus_the_two_v1_extensions():
    ours = {(c, w) for c, nexts in status.TRANSITIONS.items() for w in nexts}
    glances = {(c, w) for c, nexts in GLANCE_TABLE.items() for w in nexts}
    assert ours - glances == V1_EXTENSIONS
    assert glances <= ours
    assert set(status.TRANSITIONS) == set(GLANCE_TABLE)


def test_image_bodies_are_checked_against_the_same_status_names():
    assert validation.STATUSES is status.STATUSES
    assert set(status.STATUSES) == set(status.TRANSITIONS)


def test_an_illegal_move_is_a_conflict_naming_both_statuses():
    with pytest.raises(Conflict) as caught:
        status.check_transition("killed", "active")
    assert caught.value.message == (
        "Image status transition from killed to active is not allowed")
    status.check_transition("queued", "killed")  # allowed: no exception


@pytest.mark.parametrize("current, wanted", [
    ("queued", "saving"), ("queued", "importing"), ("queued", "active"),
    ("uploading", "importing")])
def test_leaving_queued_or_uploading_for_data_needs_both_formats(current, wanted):
    with pytest.raises(BadRequest) as caught:
        status.check_formats(current, wanted, "raw", None)
    assert "requires disk_format and container_format" in caught.value.message
    assert "no container_format" in caught.value.message
    status.check_formats(current, wanted, "raw", "bare")


def test_other_moves_need_no_formats():
    status.check_formats("saving", "active", None, None)
    status.check_formats("queued", "killed", None, None)
    status.check_formats("uploading", "queued", None, None)


# Every write of a status through the registry.

def _image_in(client, create, state: str) -> str:
    """The id of an image of alice's now in ``state``, with both formats."""
    if state in status.DELETED_STATUSES:
        image = create(status="active", locations=[{"url": "file:///x"}], **FORMATS)
        query = "?status=pending_delete" if state == "pending_delete" else ""
        deleted = client.delete("/images/%s%s" % (image["id"], query), headers=ALICE)
        assert deleted.get_json()["image"]["status"] == state
        return image["id"]
    return create(status=state, **FORMATS)["id"]


def _move(client, image_id: str, current: str, wanted: str, from_state: bool):
    """Ask the registry for ``current`` -> ``wanted`` the way its callers do."""
    if current == "pending_delete":  # only the scrubber moves these
        action = "scrubbed" if wanted == "deleted" else "restore"
        return client.post("/images/%s/%s" % (image_id, action), headers=ADMIN)
    if wanted in status.DELETED_STATUSES:
        query = "?status=pending_delete" if wanted == "pending_delete" else ""
        return client.delete("/images/%s%s" % (image_id, query), headers=ALICE)
    body = {"image": {"status": wanted}}
    if from_state:
        body["from_state"] = current
    return client.put("/images/" + image_id, headers=ALICE, json=body)


def _shown(client, image_id: str) -> dict:
    return client.get("/images/" + image_id, headers=ADMIN).get_json()["image"]


def _by_update(current: str, wanted: str) -> bool:
    return current != "pending_delete" and wanted not in status.DELETED_STATUSES


@pytest.mark.parametrize("current, wanted, from_state", [
    (c, w, f) for c, w in ALLOWED for f in ((False, True) if _by_update(c, w) else (False,))])
def test_every_allowed_transition_succeeds(client, create, current, wanted, from_state):
    image_id = _image_in(client, create, current)
    response = _move(client, image_id, current, wanted, from_state)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["image"]["status"] == wanted
    assert _shown(client, image_id)["status"] == wanted


@pytest.mark.parametrize("current, wanted", [
    ("killed", "active"), ("killed", "queued"), ("active", "queued"),
    ("active", "saving"), ("saving", "uploading"), ("uploading", "active"),
    ("deactivated", "queued"), ("importing", "saving"),
    ("saving", "pending_delete"), ("killed", "pending_delete"),
    ("queued", "pending_delete"), ("uploading", "pending_delete")])
def test_a_disallowed_transition_is_409_and_changes_nothing(client, create,
                                                            current, wanted):
    image_id = _image_in(client, create, current)
    before = _shown(client, image_id)
    response = _move(client, image_id, current, wanted, from_state=False)
    assert response.status_code == 409
    assert response.get_json()["message"] == (
        "Image status transition from %s to %s is not allowed" % (current, wanted))
    assert _shown(client, image_id) == before


def test_with_from_state_the_move_is_checked_from_that_state(client, create):
    image_id = _image_in(client, create, "queued")
    response = client.put("/images/" + image_id, headers=ALICE, json={
        "image": {"status": "saving"}, "from_state": "killed"})
    assert response.status_code == 409
    assert response.get_json()["message"] == (
        "Image status transition from killed to saving is not allowed")
    assert _shown(client, image_id)["status"] == "queued"


def test_a_deleted_image_moves_nowhere(client, create):
    image_id = _image_in(client, create, "deleted")
    before = _shown(client, image_id)
    for wanted in ("active", "queued", "killed"):
        refused = client.put("/images/" + image_id, headers=ADMIN,
                             json={"image": {"status": wanted}})
        assert refused.status_code == 403  # a deleted image cannot be updated
        assert refused.get_json()["message"] == "Forbidden to update deleted image."
    assert client.delete("/images/" + image_id, headers=ADMIN).status_code == 404
    for action in ("restore", "scrubbed"):
        assert client.post("/images/%s/%s" % (image_id, action),
                           headers=ADMIN).status_code == 409
    assert _shown(client, image_id) == before


@pytest.mark.parametrize("current, wanted, given", [
    ("queued", "saving", {}),
    ("queued", "active", {"disk_format": "raw"}),
    ("queued", "importing", {"container_format": "bare"}),
    ("uploading", "importing", {})])
def test_leaving_queued_or_uploading_without_formats_is_400(client, create,
                                                            current, wanted, given):
    image = create(status=current, **given)
    response = client.put("/images/" + image["id"], headers=ALICE, json={
        "image": {"status": wanted}, "from_state": current})
    assert response.status_code == 400
    assert response.get_json()["message"].startswith(
        "Image status transition from %s to %s requires disk_format and "
        "container_format" % (current, wanted))
    assert _shown(client, image["id"]) == image


def test_formats_given_with_the_move_count(client, create):
    image = create()
    response = client.put("/images/" + image["id"], headers=ALICE, json={
        "image": dict(FORMATS, status="active"), "from_state": "queued"})
    assert response.status_code == 200
    assert response.get_json()["image"]["status"] == "active"


def test_clearing_a_format_in_the_move_itself_is_400(client, create):
    image = create(**FORMATS)
    response = client.put("/images/" + image["id"], headers=ALICE, json={
        "image": {"status": "saving", "disk_format": None}, "from_state": "queued"})
    assert response.status_code == 400
    assert _shown(client, image["id"]) == image


def test_the_upload_heartbeat_is_not_a_transition(client, create):
    image_id = _image_in(client, create, "saving")
    beat = client.put("/images/" + image_id, headers=ALICE,
                      json={"image": {}, "from_state": "saving"})
    assert beat.status_code == 200 and beat.get_json()["image"]["status"] == "saving"
    client.put("/images/" + image_id, headers=ALICE,
               json={"image": {"status": "killed"}, "from_state": "saving"})
    late = client.put("/images/" + image_id, headers=ALICE,
                      json={"image": {}, "from_state": "saving"})
    assert late.status_code == 409
    assert _shown(client, image_id)["status"] == "killed"


def test_writing_the_current_status_again_is_not_a_transition(client, create):
    image_id = _image_in(client, create, "killed")
    same = client.put("/images/" + image_id, headers=ALICE,
                      json={"image": {"status": "killed", "name": "still"}})
    assert same.status_code == 200
    assert same.get_json()["image"]["name"] == "still"


@pytest.mark.parametrize("wanted", sorted(status.DELETED_STATUSES))
def test_an_update_cannot_delete(client, create, wanted):
    image_id = _image_in(client, create, "active")
    response = client.put("/images/" + image_id, headers=ALICE,
                          json={"image": {"status": wanted}})
    assert response.status_code == 400
    assert _shown(client, image_id)["status"] == "active"


@pytest.mark.parametrize("wanted", sorted(status.DELETED_STATUSES))
def test_an_image_is_not_created_deleted(client, wanted):
    response = client.post("/images", headers=ALICE,
                           json={"image": {"status": wanted}})
    assert response.status_code == 400
    listed = client.get("/images/detail", headers=ADMIN,
                        query_string={"is_public": "None", "deleted": "true"})
    assert listed.get_json()["images"] == []


def test_a_new_image_may_start_in_any_other_status(create):
    # Creating is not a transition: there is no status to leave.
    for state in sorted(set(status.STATUSES) - status.DELETED_STATUSES):
        assert create(status=state)["status"] == state


def test_an_unknown_from_state_is_400(client, create):
    image_id = _image_in(client, create, "queued")
    response = client.put("/images/" + image_id, headers=ALICE,
                          json={"image": {"status": "saving"}, "from_state": "asleep"})
    assert response.status_code == 400
    assert _shown(client, image_id)["status"] == "queued"
