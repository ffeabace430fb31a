"""Tag edits (add_tags, remove_tags on PUT /images/{id}) change the live tags
as they are at the write, under the image row's lock: concurrent edits of one
image's tags all land, and the tag quota is counted with the write."""

from __future__ import annotations

import pytest
from registry_support import ALICE
from registry_support import race

THREADS = 8


def _edit(client, image_id, **body):
    return client.put("/images/" + image_id, headers=ALICE, json=dict({"image": {}}, **body))


def _tags(client, image_id):
    shown = client.get("/images/" + image_id, headers=ALICE).get_json()["image"]
    return sorted(shown["tags"])


def test_adding_and_removing_tags_keeps_the_others(client, create):
    image = create(tags=["a", "b"])
    response = _edit(client, image["id"], add_tags=["c", "a"], remove_tags=["b"])
    assert response.status_code == 200
    assert sorted(response.get_json()["image"]["tags"]) == ["a", "c"]
    assert _tags(client, image["id"]) == ["a", "c"]


def test_a_removed_tag_added_again_is_live_once(client, create):
    image = create(tags=["a"])
    assert _edit(client, image["id"], remove_tags=["a"]).status_code == 200
    assert _edit(client, image["id"], add_tags=["a"]).status_code == 200
    assert _edit(client, image["id"], add_tags=["a"]).status_code == 200
    assert _tags(client, image["id"]) == ["a"]


def test_removing_a_tag_that_is_not_there_is_404_and_changes_nothing(client, create):
    image = create(tags=["a"])
    response = _edit(client, image["id"], add_tags=["b"], remove_tags=["gone"])
    assert response.status_code == 404
    assert "Tag gone not found" in response.get_json()["message"]
    assert _tags(client, image["id"]) == ["a"]


@pytest.mark.parametrize("body", [
    {"add_tags": "a"},
    {"remove_tags": [1]},
    {"add_tags": [""]},
    {"add_tags": ["x" * 256]},
    {"add_tags": ["a"], "remove_tags": ["a"]},
    {"image": {"tags": ["a"]}, "add_tags": ["b"]},
])
def test_a_malformed_tag_edit_is_400(client, create, body):
    image = create(tags=["keep"])
    response = client.put("/images/" + image["id"], headers=ALICE,
                          json=dict({"image": {}}, **body))
    assert response.status_code == 400
    assert _tags(client, image["id"]) == ["keep"]


def test_adding_beyond_the_tag_quota_is_413_and_changes_nothing(client, create):
    image = create(tags=["a", "b"])
    response = _edit(client, image["id"], add_tags=["c"], tag_quota=2)
    assert response.status_code == 413
    assert "allowed image tags. Attempted: 3, Maximum: 2" in response.get_json()["message"]
    assert _tags(client, image["id"]) == ["a", "b"]
    # Removing needs no room, even on an image already over a lowered quota.
    assert _edit(client, image["id"], remove_tags=["a"], tag_quota=0).status_code == 200


def test_concurrent_adds_of_distinct_tags_all_land(app, client, create):
    image = create(tags=["old"])
    tally = race(app, lambda c, n: _edit(c, image["id"], add_tags=["t%d" % n]),
                 THREADS)
    assert tally == {200: THREADS}, tally
    assert _tags(client, image["id"]) == sorted(["old"] + ["t%d" % n for n in range(THREADS)])


def test_removals_racing_adds_remove_only_their_own_tags(app, client, create):
    doomed = ["d%d" % n for n in range(THREADS // 2)]
    image = create(tags=["keep"] + doomed)

    def call(c, n):
        if n % 2:
            return _edit(c, image["id"], remove_tags=[doomed[n // 2]])
        return _edit(c, image["id"], add_tags=["a%d" % n])

    tally = race(app, call, THREADS)
    assert tally == {200: THREADS}, tally
    added = ["a%d" % n for n in range(0, THREADS, 2)]
    assert _tags(client, image["id"]) == sorted(["keep"] + added)


def test_concurrent_adds_at_the_quota_edge_let_exactly_the_quota_in(app, client, create):
    image = create(tags=["old"])
    tally = race(app, lambda c, n: _edit(c, image["id"], add_tags=["t%d" % n],
                                         tag_quota=4), THREADS)
    assert tally == {200: 3, 413: THREADS - 3}, tally
    assert len(_tags(client, image["id"])) == 4
