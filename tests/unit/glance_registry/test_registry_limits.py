"""Member, property and tag quotas are enforced by the registry, with the
write: the count and the write are one transaction, serialised per image, so
concurrent writers at the edge never get past the limit together."""

from __future__ import annotations

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import race

THREADS = 8
QUOTA = 5
ALREADY = 2  # members or properties the image has before the race


def _members(client, image_id):
    return client.get("/images/%s/members" % image_id, headers=ALICE).get_json()["members"]


def _image(client, image_id):
    return client.get("/images/" + image_id, headers=ALICE).get_json()["image"]


def _race(app, call):
    return race(app, call, THREADS)


# Members

def test_a_v2_member_beyond_the_quota_is_413_in_glances_words(client, create):
    image = create(visibility="shared")
    for n in range(2):
        assert client.post("/images/%s/members" % image["id"], headers=ALICE,
                           json={"member_id": "p%d" % n, "member_quota": 2}).status_code == 201
    response = client.post("/images/%s/members" % image["id"], headers=ALICE,
                           json={"member_id": "p9", "member_quota": 2})
    assert response.status_code == 413
    assert response.get_json()["message"] == (
        "The limit has been exceeded on the number of allowed image members for "
        "this image. Attempted: 3, Maximum: 2")
    assert len(_members(client, image["id"])) == 2


def test_a_duplicate_at_the_edge_is_still_409_and_unlimited_means_no_check(client, create):
    image = create(visibility="shared")
    url = "/images/%s/members" % image["id"]
    assert client.post(url, headers=ALICE,
                       json={"member_id": "p0", "member_quota": 1}).status_code == 201
    assert client.post(url, headers=ALICE,
                       json={"member_id": "p0", "member_quota": 1}).status_code == 409
    for quota in (None, -1):
        assert client.post(url, headers=ALICE, json={"member_id": "q%s" % quota,
                                                     "member_quota": quota}).status_code == 201


@pytest.mark.parametrize("quota", ["3", True, 1.5])
def test_a_member_quota_must_be_a_whole_number(client, create, quota):
    image = create(visibility="shared")
    response = client.post("/images/%s/members" % image["id"], headers=ALICE,
                           json={"member_id": "p0", "member_quota": quota})
    assert response.status_code == 400


def test_v1_adding_beyond_the_quota_is_413_but_updating_a_member_is_not(client, create):
    image = create()
    url = "/images/%s/members/" % image["id"]
    assert client.put(url + "p0", headers=ALICE, json={"member_quota": 1}).status_code == 204
    response = client.put(url + "p1", headers=ALICE,
                          json={"member": {"can_share": True}, "member_quota": 1})
    assert response.status_code == 413
    assert client.put(url + "p0", headers=ALICE,
                      json={"member": {"can_share": True}, "member_quota": 1}).status_code == 204
    assert [(m["member_id"], m["can_share"]) for m in _members(client, image["id"])] == [
        ("p0", True)]


def test_v1_replacing_with_more_members_than_the_quota_is_413(client, create):
    image = create()
    url = "/images/%s/members" % image["id"]
    body = {"memberships": [{"member_id": "p%d" % n} for n in range(3)]}
    assert client.put(url, headers=ALICE, json=dict(body, member_quota=2)).status_code == 413
    assert _members(client, image["id"]) == []
    assert client.put(url, headers=ALICE, json=dict(body, member_quota=3)).status_code == 204


def test_concurrent_v2_adds_at_the_edge_let_exactly_the_quota_in(app, client, create):
    image = create(visibility="shared")
    url = "/images/%s/members" % image["id"]
    for n in range(ALREADY):
        client.post(url, headers=ALICE, json={"member_id": "old%d" % n})
    tally = _race(app, lambda c, n: c.post(url, headers=ALICE, json={
        "member_id": "new%d" % n, "member_quota": QUOTA}))
    assert tally == {201: QUOTA - ALREADY, 413: THREADS - (QUOTA - ALREADY)}, tally
    assert len(_members(client, image["id"])) == QUOTA


def test_concurrent_v1_adds_at_the_edge_let_exactly_the_quota_in(app, client, create):
    image = create()
    url = "/images/%s/members/" % image["id"]
    for n in range(ALREADY):
        client.put(url + "old%d" % n, headers=ALICE)
    tally = _race(app, lambda c, n: c.put(url + "new%d" % n, headers=ALICE,
                                          json={"member_quota": QUOTA}))
    assert tally == {204: QUOTA - ALREADY, 413: THREADS - (QUOTA - ALREADY)}, tally
    assert len(_members(client, image["id"])) == QUOTA


# Properties and tags

def _put(client, image_id, image, **extra):
    return client.put("/images/" + image_id, headers=ALICE, json=dict({"image": image}, **extra))


def test_adding_properties_beyond_the_quota_is_413_and_changes_nothing(client, create):
    image = create(name="before", properties={"a": "1", "b": "2"})
    response = _put(client, image["id"], {"name": "after", "properties": {"c": "3"}},
                    property_quota=2)
    assert response.status_code == 413
    assert response.get_json()["message"] == (
        "The limit has been exceeded on the number of allowed image properties. "
        "Attempted: 3, Maximum: 2")
    shown = _image(client, image["id"])
    assert (shown["name"], shown["properties"]) == ("before", {"a": "1", "b": "2"})


def test_changing_removing_or_swapping_properties_at_the_edge_is_allowed(client, create):
    image = create(properties={"a": "1", "b": "2"})
    for properties in ({"a": "9"}, {"b": None}, {"b": "2", "a": None}):
        assert _put(client, image["id"], {"properties": properties},
                    property_quota=2).status_code == 200
    assert _image(client, image["id"])["properties"] == {"b": "2"}


def test_an_image_already_over_a_lowered_quota_may_shrink_but_not_grow(client, create):
    image = create(properties={"a": "1", "b": "2", "c": "3"})
    assert _put(client, image["id"], {"properties": {"c": None}},
                property_quota=1).status_code == 200
    assert _put(client, image["id"], {"properties": {"d": "4", "b": None}},
                property_quota=1).status_code == 413


def test_tags_beyond_the_quota_are_413(client, create):
    image = create(tags=["x"])
    response = _put(client, image["id"], {"tags": ["x", "y", "z"]}, tag_quota=2)
    assert response.status_code == 413
    assert "allowed image tags. Attempted: 3, Maximum: 2" in response.get_json()["message"]
    assert _image(client, image["id"])["tags"] == ["x"]
    assert _put(client, image["id"], {"tags": ["x", "y"]}, tag_quota=2).status_code == 200


def test_concurrent_property_adds_at_the_edge_let_exactly_the_quota_in(app, client, create):
    image = create(properties={"old%d" % n: "v" for n in range(ALREADY)})
    tally = _race(app, lambda c, n: _put(c, image["id"], {"properties": {"new%d" % n: "v"}},
                                         property_quota=QUOTA))
    assert tally == {200: QUOTA - ALREADY, 413: THREADS - (QUOTA - ALREADY)}, tally
    assert len(_image(client, image["id"])["properties"]) == QUOTA


# Pending fetches (glance-api's v1 copy-from)

FAR_FUTURE = "2999-01-01T00:00:00"
LONG_AGO = "2000-01-01T00:00:00"


def _stale(client, before, as_=ADMIN):
    return client.get("/images/stale-fetches?before=" + before, headers=as_)


def test_a_pending_fetch_is_listed_once_stale_and_never_shown_in_the_image(client, create):
    owed, other = create(), create()
    assert _put(client, owed["id"], {}, from_state="queued",
                fetch_pending=True).status_code == 200
    assert [i["id"] for i in _stale(client, FAR_FUTURE).get_json()["images"]] == [owed["id"]]
    assert _stale(client, LONG_AGO).get_json()["images"] == []
    assert not any("fetch" in key for key in _image(client, owed["id"]))
    assert other["id"] not in str(_stale(client, FAR_FUTURE).get_json())


def test_leaving_queued_or_saying_so_forgets_the_pending_fetch(client, create):
    first = create(disk_format="raw", container_format="bare")
    second = create()
    for image in (first, second):
        _put(client, image["id"], {}, from_state="queued", fetch_pending=True)
    assert _put(client, first["id"], {"status": "saving"}, from_state="queued").status_code == 200
    assert _put(client, second["id"], {}, fetch_pending=False).status_code == 200
    assert _stale(client, FAR_FUTURE).get_json()["images"] == []


def test_only_a_queued_image_can_wait_for_a_fetch(client, create):
    image = create(status="active", locations=[{"url": "file:///x"}])
    assert _put(client, image["id"], {}, fetch_pending=True).status_code == 409
    queued = create()
    assert _put(client, queued["id"], {}, fetch_pending="yes").status_code == 400


def test_stale_fetches_are_for_admins_and_need_a_time(client, create):
    assert _stale(client, FAR_FUTURE, as_=ALICE).status_code == 403
    assert client.get("/images/stale-fetches", headers=ADMIN).status_code == 400
    assert _stale(client, "yesterday").status_code == 400
