"""Who sees which image, on reads and lists (the visibility function)."""

from __future__ import annotations

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB
from registry_support import NOBODY
from registry_support import headers

CAROL = headers("carol")


@pytest.fixture
def images(create, client):
    """One image of each kind, owned by alice unless said otherwise."""
    made = {
        "public": create(as_=ADMIN, owner="alice", is_public=True),
        "shared_with_bob": create(),
        "private_member_bob": create(as_=ADMIN, owner="alice", visibility="private"),
        "community": create(visibility="community"),
        "alice_only": create(),
        "ownerless": create(as_=ADMIN, owner=None),
        "ownerless_public": create(as_=ADMIN, owner=None, is_public=True),
        "admins_own": create(as_=ADMIN),
    }
    for name in ("shared_with_bob",):
        client.put("/images/%s/members/bob" % made[name]["id"], headers=ALICE)
    # A membership row on a private image (v2 hides it): made directly so the
    # v1 "share makes it shared" rule does not kick in.
    from glance_registry.db import database
    from glance_registry.models import ImageMember
    with database.connection_context():
        ImageMember.create(image=made["private_member_bob"]["id"], member="bob")
    return {name: image["id"] for name, image in made.items()}


SEES_BY_ID = {
    "alice": {"public", "shared_with_bob", "private_member_bob", "community",
              "alice_only", "ownerless_public"},
    "bob": {"public", "shared_with_bob", "community", "ownerless_public"},
    "carol": {"public", "community", "ownerless_public"},
    "nobody": {"public", "ownerless_public"},
    "admin": {"public", "shared_with_bob", "private_member_bob", "community",
              "alice_only", "ownerless", "ownerless_public", "admins_own"},
}
CALLERS = {"alice": ALICE, "bob": BOB, "carol": CAROL, "nobody": NOBODY,
           "admin": ADMIN}


@pytest.mark.parametrize("caller", sorted(SEES_BY_ID))
def test_reading_by_id(client, images, caller):
    seen = {name for name, image_id in images.items()
            if client.get("/images/" + image_id,
                          headers=CALLERS[caller]).status_code == 200}
    assert seen == SEES_BY_ID[caller]


def _listed(client, caller, **params):
    response = client.get("/images/detail", query_string=params,
                          headers=CALLERS[caller])
    assert response.status_code == 200
    return {image["id"] for image in response.get_json()["images"]}


@pytest.mark.parametrize("caller", ["alice", "bob", "carol", "nobody"])
def test_lists_leave_out_other_projects_community_images(client, images, caller):
    names = {v: k for k, v in images.items()}
    expected = SEES_BY_ID[caller] - ({"community"} if caller != "alice" else set())
    assert {names[i] for i in _listed(client, caller)} == expected


def test_non_admins_cannot_widen_their_list_with_is_public(client, images):
    assert _listed(client, "bob", is_public="None") == _listed(client, "bob")


def test_admin_list_scopes(client, images):
    names = {v: k for k, v in images.items()}
    as_user = {names[i] for i in _listed(client, "admin")}
    assert as_user == {"public", "ownerless_public", "admins_own"}
    assert {names[i] for i in _listed(client, "admin", is_public="True")} == as_user
    assert {names[i] for i in _listed(client, "admin", is_public="False")} == {
        "shared_with_bob", "private_member_bob", "community", "alice_only",
        "ownerless", "admins_own"}
    assert {names[i] for i in _listed(client, "admin", is_public="None")} == set(images)


def test_a_removed_member_no_longer_sees_the_image(client, images):
    image_id = images["shared_with_bob"]
    client.delete("/images/%s/members/bob" % image_id, headers=ALICE)
    assert client.get("/images/" + image_id, headers=BOB).status_code == 404
    assert image_id not in _listed(client, "bob")


def test_an_admin_without_a_project_lists_everything_by_default(client, images):
    # noauth's admin has no project to "stand in" for; as_user would show it
    # none of the ownerless images it creates.
    projectless_admin = headers(None, ["admin"], user=None)
    response = client.get("/images/detail", headers=projectless_admin)
    assert {i["id"] for i in response.get_json()["images"]} == set(images.values())
