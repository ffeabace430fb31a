"""v2 lists (member_status given): who sees what, v2 filters, multi-key sorting,
and the template key that every ListQuery field must shape."""

from __future__ import annotations

import dataclasses
import datetime
import random
import uuid

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB
from registry_support import NOBODY
from registry_support import bulk_images
from registry_support import headers

from glance_registry import listing
from glance_registry import visibility
from glance_registry.db import database

CAROL = headers("carol")
BASE = datetime.datetime(2024, 1, 1, 12, 0, 0)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [image["id"] for image in response.get_json()["images"]]


def listed(client, as_=ALICE, detail=False, **params) -> list[str]:
    params.setdefault("member_status", "accepted")
    path = "/images/detail" if detail else "/images"
    return ids(client.get(path, query_string=params, headers=as_))


def share(client, image_id, member, status):
    url = "/images/%s/members" % image_id
    assert client.post(url, json={"member_id": member}, headers=ALICE).status_code == 201
    if status != "pending":
        answer = client.put("%s/%s/status" % (url, member), json={"status": status},
                            headers=headers(member))
        assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.fixture
def world(create, client):
    """Images of alice and bob in every visibility and member status."""
    made = {
        "public": create(as_=ADMIN, owner="alice", visibility="public"),
        "private": create(visibility="private"),
        "accepted": create(),
        "pending": create(),
        "rejected": create(),
        "unshared": create(),
        "community": create(visibility="community"),
        "hidden": create(os_hidden=True),
        "killed": create(status="killed"),
        "deleted": create(),
        "bob_private": create(as_=BOB, visibility="private"),
        "bob_community": create(as_=BOB, visibility="community"),
    }
    for name in ("accepted", "pending", "rejected", "hidden", "killed"):
        share(client, made[name]["id"], "bob", name if name in (
            "accepted", "pending", "rejected") else "accepted")
    client.delete("/images/" + made["deleted"]["id"], headers=ALICE)
    return {name: image["id"] for name, image in made.items()}


def names(world, found) -> set[str]:
    by_id = {v: k for k, v in world.items()}
    return {by_id[i] for i in found}


ALICE_OWN = {"public", "private", "accepted", "pending", "rejected", "unshared",
             "community"}
EVERY_LIVE = ALICE_OWN | {"bob_private", "bob_community"}


@pytest.mark.parametrize("caller, params, expected", [
    (ALICE, {}, ALICE_OWN),
    (BOB, {}, {"public", "accepted", "bob_private", "bob_community"}),
    (BOB, {"member_status": "pending"}, {"public", "pending", "bob_private",
                                         "bob_community"}),
    (BOB, {"member_status": "rejected"}, {"public", "rejected", "bob_private",
                                          "bob_community"}),
    (BOB, {"member_status": "all"}, {"public", "accepted", "pending", "rejected",
                                     "bob_private", "bob_community"}),
    (BOB, {"visibility": "shared"}, {"accepted"}),
    (BOB, {"visibility": "shared", "member_status": "all"},
     {"accepted", "pending", "rejected"}),
    (ALICE, {"visibility": "shared"}, {"accepted", "pending", "rejected", "unshared"}),
    (BOB, {"visibility": "private"}, {"bob_private"}),
    (BOB, {"visibility": "public"}, {"public"}),
    (BOB, {"visibility": "community"}, {"community", "bob_community"}),
    (BOB, {"visibility": "all"}, {"public", "accepted", "bob_private",
                                  "bob_community", "community"}),
    (CAROL, {}, {"public"}),
    (CAROL, {"visibility": "all"}, {"public", "community", "bob_community"}),
    (NOBODY, {}, {"public"}),
    (NOBODY, {"visibility": "private"}, set()),
    (NOBODY, {"visibility": "all"}, {"public", "community", "bob_community"}),
    (ADMIN, {}, EVERY_LIVE - {"community", "bob_community"}),
    (ADMIN, {"visibility": "community"}, {"community", "bob_community"}),
    (ADMIN, {"visibility": "private"}, {"private", "bob_private"}),
    (ADMIN, {"visibility": "all"}, EVERY_LIVE),
    (ADMIN, {"visibility": "all", "os_hidden": "true"}, {"hidden"}),
    (ALICE, {"os_hidden": "true"}, {"hidden"}),
    (BOB, {"os_hidden": "True"}, {"hidden"}),
    (ALICE, {"os_hidden": "false"}, ALICE_OWN),
])
def test_who_sees_what_in_a_v2_list(client, world, caller, params, expected):
    assert names(world, listed(client, caller, **params)) == expected
    assert names(world, listed(client, caller, detail=True, **params)) == expected


def test_a_v1_list_is_unchanged_by_member_status_and_hidden_images(client, world):
    found = ids(client.get("/images", headers=BOB))
    # v1 has no member status or hidden images; its own community images
    # are listed, others' are not.
    assert names(world, found) == {"public", "accepted", "pending", "rejected",
                                   "hidden", "bob_private", "bob_community"}


def test_an_admins_own_community_images_are_in_its_default_list(client, create):
    mine = create(as_=ADMIN, visibility="community")["id"]
    theirs = create(visibility="community")["id"]
    found = listed(client, ADMIN)
    assert mine in found and theirs not in found


@pytest.fixture
def catalogue(create, client):
    early = create(name="early", disk_format="raw", container_format="bare",
                   status="active", checksum="a" * 32, os_hash_value="f" * 128,
                   tags=["linux", "Big"], properties={"Distro": "ubuntu"})
    late = create(name="late", disk_format="qcow2", container_format="compressed",
                  status="queued", tags=["linux"], properties={"distro": "fedora"})
    other = create(as_=ADMIN, owner="bob", name="other", visibility="public",
                   status="active",
                   properties={"Distro": "Ubuntu"})
    return {"early": early, "late": late, "other": other}


def by_name(catalogue, found) -> set[str]:
    names_ = {image["id"]: name for name, image in catalogue.items()}
    return {names_[i] for i in found}


@pytest.mark.parametrize("params, expected", [
    ({"tag": "linux"}, {"early", "late"}),
    ({"tag": ["linux", "Big"]}, {"early"}),
    ({"tag": "big"}, set()),  # tags are case-sensitive
    ({"tag": ["linux", "nope"]}, set()),
    ({"name": ["early", "other"]}, {"early", "other"}),
    ({"status": ["queued", "killed"]}, {"late"}),
    ({"disk_format": ["raw", "qcow2"]}, {"early", "late"}),
    ({"container_format": "compressed"}, {"late"}),
    ({"owner": "bob"}, {"other"}),
    ({"checksum": "a" * 32}, {"early"}),
    ({"os_hash_value": "f" * 128}, {"early"}),
    ({"prop-Distro": "ubuntu"}, {"early"}),
    ({"prop-distro": "ubuntu"}, set()),  # v2: the key's case counts
    ({"prop-distro": "fedora"}, {"late"}),
    ({"prop-Distro": "Ubuntu"}, {"other"}),
    ({"property-DISTRO": "ubuntu"}, {"early"}),  # v1: it does not
    ({"prop-Distro": "ubuntu", "tag": "Big", "name": "early"}, {"early"}),
])
def test_v2_filters(client, catalogue, params, expected):
    assert by_name(catalogue, listed(client, **params)) == expected


def test_id_filter_takes_several_ids_in_any_case(client, catalogue):
    wanted = [catalogue["early"]["id"].upper(), catalogue["other"]["id"]]
    assert by_name(catalogue, listed(client, id=wanted)) == {"early", "other"}


def test_time_filters_compare_created_and_updated_at(client, catalogue):
    early, late = catalogue["early"], catalogue["late"]
    cut = late["created_at"]
    assert early["id"] in listed(client, created_at_lt=cut)
    assert late["id"] not in listed(client, created_at_lt=cut)
    assert late["id"] in listed(client, created_at_gte=cut)
    assert listed(client, created_at_eq=cut) == [late["id"]]
    assert late["id"] not in listed(client, created_at_neq=cut)
    assert listed(client, created_at_gt="2999-01-01T00:00:00Z") == []
    assert listed(client, updated_at_lte="2000-01-01T00:00:00") == []
    both = listed(client, updated_at_gt="2000-01-01T00:00:00+02:00",
                  created_at_lte=cut)
    assert early["id"] in both and late["id"] in both


@pytest.mark.parametrize("params", [
    {"visibility": "everyone"},
    {"member_status": "maybe"},
    {"os_hidden": "perhaps"},
    {"created_at_gt": "yesterday"},
    {"updated_at_neq": "2024-13-01"},
    {"sort": "owner:asc"},
    {"sort": "name:up"},
    {"sort": "name:asc", "sort_key": "size"},
    {"changes-since": "2024-01-01T00:00:00"},
    {"is_public": "None"},
    {"deleted": "true"},
    {"prop-": "x"},
])
def test_bad_v2_parameters_are_400(client, params):
    params.setdefault("member_status", "accepted")
    response = client.get("/images", query_string=params, headers=ADMIN)
    assert response.status_code == 400, params


def test_visibility_needs_member_status(client):
    answer = client.get("/images", query_string={"visibility": "all"}, headers=ALICE)
    assert answer.status_code == 400


def test_sort_accepts_commas_and_repeats_and_defaults_to_desc(client, create):
    for name, size in (("b", 1), ("a", 2), ("a", 1)):
        create(name=name, size=size)
    expected = [("a", 2), ("a", 1), ("b", 1)]
    for sort in (["name:asc", "size"], "name:asc,size:desc", "name:asc, size:desc"):
        found = client.get("/images", headers=ALICE,
                           query_string={"member_status": "all", "sort": sort})
        assert [(i["name"], i["size"]) for i in found.get_json()["images"]] == expected


def test_a_v2_marker_may_be_any_live_image_the_caller_sees(client, create):
    pending = create()
    share(client, pending["id"], "bob", "pending")
    answer = client.get("/images", headers=BOB,
                        query_string={"member_status": "accepted",
                                      "marker": pending["id"]})
    assert answer.status_code == 200
    client.delete("/images/" + pending["id"], headers=ALICE)
    answer = client.get("/images", headers=ADMIN,
                        query_string={"member_status": "accepted",
                                      "marker": pending["id"]})
    assert answer.status_code == 400


def test_tags_put_replaces_the_list_and_keeps_case(client, create):
    image = create(tags=["a", "B"])
    url = "/images/" + image["id"]
    answer = client.put(url, json={"image": {"tags": ["b", "B", "c" * 255]}},
                        headers=ALICE)
    assert answer.status_code == 200
    assert sorted(answer.get_json()["image"]["tags"]) == sorted(["b", "B", "c" * 255])
    assert listed(client, tag="a") == []
    assert listed(client, tag="B") == [image["id"]]
    too_long = client.put(url, json={"image": {"tags": ["d" * 256]}}, headers=ALICE)
    assert too_long.status_code == 400
    cleared = client.put(url, json={"image": {"tags": []}}, headers=ALICE)
    assert cleared.get_json()["image"]["tags"] == []


def test_a_v2_page_costs_a_constant_number_of_queries(client, create):
    for n in range(12):
        create(name="i%d" % n, tags=["t"], properties={"Os": "x"})
    counts = []
    for limit in (1, 12):
        executed = []
        database.obj.query_hooks.append(executed.append)
        try:
            page = listed(client, detail=True, limit=limit, tag="t",
                          **{"prop-Os": "x", "sort": "name:asc,size:desc"})
        finally:
            database.obj.query_hooks.remove(executed.append)
        assert len(page) == limit
        counts.append(len(executed))
    assert counts == [2, 2]


# --- Multi-key sorting and keyset paging ---------------------------------

SORTS = [
    (("name", "asc"), ("size", "desc")),
    (("status", "desc"), ("name", "asc"), ("disk_format", "desc")),
    (("size", "asc"), ("id", "desc")),
    (("updated_at", "desc"), ("container_format", "asc")),
    (("disk_format", "asc"), ("created_at", "desc"), ("name", "desc")),
    (("id", "asc"),),
]


def _sort_value(row, key):
    value = row.get(key)
    if key in ("name", "container_format", "disk_format") and value is None:
        return ""
    if key == "size" and value is None:
        return -1
    return value


def _expected_order(rows, sort):
    keys = list(sort)
    for tie_breaker in listing.TIE_BREAKERS:
        if tie_breaker not in [k for k, _ in keys]:
            keys.append((tie_breaker, sort[0][1]))
    ordered = list(rows)
    for key, direction in reversed(keys):  # stable sorts, last key first
        ordered.sort(key=lambda r: _sort_value(r, key), reverse=(direction == "desc"))
    return [r["id"] for r in ordered]


def test_paging_under_multi_key_sorts_returns_every_image_once_in_order(client):
    rng = random.Random(7)
    rows = []
    for _ in range(600):
        stamp = BASE + datetime.timedelta(seconds=rng.randrange(40))
        rows.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "name": rng.choice([None, "alpha", "beta", "Gamma"]),
            "status": rng.choice(["active", "queued", "saving"]),
            "container_format": rng.choice([None, "bare", "ovf"]),
            "disk_format": rng.choice([None, "raw", "qcow2"]),
            "size": rng.choice([None, 0, 5, 10 ** 12]),
            "created_at": stamp,
            "updated_at": stamp + datetime.timedelta(seconds=rng.randrange(3)),
        })
    bulk_images(rows)
    for sort in SORTS:
        seen, marker = [], None
        while True:
            params = {"sort": ["%s:%s" % pair for pair in sort], "limit": 97}
            if marker:
                params["marker"] = marker
            page = listed(client, **params)
            seen += page
            if len(page) < 97:
                break
            marker = page[-1]
        assert len(seen) == len(set(seen)) == len(rows), sort
        assert seen == _expected_order(rows, sort), sort


# --- The template key ----------------------------------------------------

STAMP = datetime.datetime(2024, 1, 1)
SAMPLES = {  # for each ListQuery field, a value other than its default
    "limit": 7,
    "marker": str(uuid.uuid4()),
    "sort": (("name", "asc"),),
    "exact": (("name", ("a",)),),
    "size_min": 1,
    "size_max": 2,
    "protected": True,
    "os_hidden": False,
    "changes_since": STAMP,
    "updated_before": STAMP,
    "times": (("created_at", "gt", STAMP),),
    "properties": (("os", "linux"),),
    "extra_properties": (("os", "linux"),),
    "tags": ("t",),
    "admin_scope": visibility.ALL,
    "deleted": True,
    "visibility": "public",
    "member_status": "accepted",
}
VIEWERS = [visibility.Viewer(False, None), visibility.Viewer(False, "p"),
           visibility.Viewer(True, "p")]


def _sql(viewer, query) -> str:
    return listing.build(viewer, query).sql()[0]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_every_list_query_field_shapes_the_template_key(app, viewer):
    """A field that changes the SQL must change the key; one that only fills
    slots (PER_CALL) must leave the SQL alone."""
    base = listing.ListQuery(limit=25)
    for field in dataclasses.fields(listing.ListQuery):
        assert field.name in SAMPLES, "add a sample for ListQuery.%s" % field.name
        assert "shape" in field.metadata, "say how ListQuery.%s shapes the SQL" % field.name
        changed = dataclasses.replace(base, **{field.name: SAMPLES[field.name]})
        if field.metadata["shape"] is listing.PER_CALL:
            assert _sql(viewer, changed) == _sql(viewer, base), field.name
            assert listing.shape(viewer, changed) == listing.shape(viewer, base)
        else:
            assert listing.shape(viewer, changed) != listing.shape(viewer, base), field.name


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("first, second", [
    ({"member_status": "accepted"}, {"member_status": "pending"}),
    ({"exact": (("name", ("a", "b")),)}, {"exact": (("name", ("c", "d")),)}),
    ({"tags": ("a",)}, {"tags": ("b",)}),
    ({"times": (("updated_at", "lt", STAMP),)},
     {"times": (("updated_at", "lt", STAMP + datetime.timedelta(days=1)),)}),
    ({"extra_properties": (("a", "x"),)}, {"extra_properties": (("b", "y"),)}),
])
def test_queries_of_one_shape_share_their_sql(app, viewer, first, second):
    one = listing.ListQuery(limit=1, **first)
    two = listing.ListQuery(limit=2, **second)
    assert listing.shape(viewer, one) == listing.shape(viewer, two)
    assert _sql(viewer, one) == _sql(viewer, two)


@pytest.mark.parametrize("first, second", [
    ({"member_status": "accepted"}, {"member_status": "all"}),
    ({"exact": (("name", ("a",)),)}, {"exact": (("name", ("a", "b")),)}),
    ({"times": (("updated_at", "lt", STAMP),)}, {"times": (("updated_at", "gt", STAMP),)}),
    ({"sort": (("name", "asc"),)}, {"sort": (("name", "asc"), ("size", "desc"))}),
    ({"visibility": "public", "member_status": "all"},
     {"visibility": "shared", "member_status": "all"}),
])
def test_queries_of_other_shapes_get_other_keys(app, first, second):
    viewer = visibility.Viewer(False, "p")
    one, two = listing.ListQuery(limit=1, **first), listing.ListQuery(limit=1, **second)
    assert listing.shape(viewer, one) != listing.shape(viewer, two)
    assert _sql(viewer, one) != _sql(viewer, two)


def test_a_first_v2_page_reads_an_index_in_order(client, create):
    if not database.obj.__class__.__name__.endswith("SqliteDatabase"):
        pytest.skip("query plans are checked on SQLite, whose planner had no statistics")
    create(name="one")
    events = []
    database.obj.query_hooks.append(events.append)
    try:
        listed(client, headers(None, ["admin"], user=None), detail=True, limit=20)
    finally:
        database.obj.query_hooks.remove(events.append)
    query = next(e for e in events if 'FROM "images"' in e.sql and "UNION" not in e.sql)
    with database.connection_context():
        plan = " ".join(str(row) for row in database.execute_sql(
            "EXPLAIN QUERY PLAN " + query.sql, query.params))
    assert "TEMP B-TREE" not in plan, plan


def test_a_case_sensitive_property_filter_still_uses_the_lookup_index(client, create):
    if not database.obj.__class__.__name__.endswith("SqliteDatabase"):
        pytest.skip("query plans are checked on SQLite, whose planner had no statistics")
    create(properties={"Os": "linux"})
    events = []
    database.obj.query_hooks.append(events.append)
    try:
        listed(client, **{"prop-Os": "linux"})
    finally:
        database.obj.query_hooks.remove(events.append)
    query = next(e for e in events if 'FROM "images"' in e.sql)
    with database.connection_context():
        plan = " ".join(str(row) for row in database.execute_sql(
            "EXPLAIN QUERY PLAN " + query.sql, query.params))
    assert "image_properties_lookup" in plan, plan


def test_shapes_beyond_the_cache_cap_are_built_per_call(client, create, monkeypatch):
    from glance_registry import templates
    image = create(name="n")
    monkeypatch.setattr(templates, "MAX_TEMPLATES", len(templates._cache))
    before = len(templates._cache)
    names_ = ["n"] + ["other%d" % i for i in range(37)]
    assert listed(client, name=names_) == [image["id"]]
    assert len(templates._cache) == before
