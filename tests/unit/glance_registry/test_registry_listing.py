"""Listing images: filters, ordering, keyset pagination, and query cost."""

from __future__ import annotations

import datetime
import random
import uuid

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB
from registry_support import bulk_images
from registry_support import headers
from registry_support import make_conf

from glance_registry.db import database

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id",
             "created_at", "updated_at")
BASE = datetime.datetime(2024, 1, 1, 12, 0, 0)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [image["id"] for image in response.get_json()["images"]]


def listed(client, headers=ALICE, detail=False, **params) -> list[str]:
    path = "/images/detail" if detail else "/images"
    return ids(client.get(path, query_string=params, headers=headers))


@pytest.fixture
def catalogue(create, client):
    """A few images that differ in every filterable field."""
    images = {
        "small": create(name="small", disk_format="raw", container_format="bare",
                        size=10, min_ram=0, min_disk=0, status="active",
                        properties={"os": "linux", "arch": "arm"}),
        "big": create(name="big", disk_format="qcow2", container_format="ovf",
                      size=1000, min_ram=512, min_disk=5, status="active",
                      protected=True, properties={"os": "linux", "arch": "x86"}),
        "queued": create(name="queued", status="queued"),
        "killed": create(name="killed", status="killed"),
    }
    gone = create(name="gone")
    client.delete("/images/" + gone["id"], headers=ALICE)
    images["gone"] = gone
    return {name: image["id"] for name, image in images.items()}


@pytest.mark.parametrize("params, expected", [
    ({}, {"small", "big", "queued"}),
    ({"name": "big"}, {"big"}),
    ({"status": "queued"}, {"queued"}),
    ({"status": "killed"}, set()),
    ({"disk_format": "raw"}, {"small"}),
    ({"container_format": "ovf"}, {"big"}),
    ({"min_ram": "512"}, {"big"}),
    ({"min_disk": "0"}, {"small", "queued"}),
    ({"size_min": "11"}, {"big"}),
    ({"size_max": "10"}, {"small"}),
    ({"size_min": "10", "size_max": "1000"}, {"small", "big"}),
    ({"protected": "true"}, {"big"}),
    ({"protected": "0"}, {"small", "queued"}),
    ({"property-os": "linux"}, {"small", "big"}),
    ({"property-os": "linux", "property-arch": "x86"}, {"big"}),
    ({"property-OS": "linux", "property-arch": "arm"}, {"small"}),
    ({"property-os": "windows"}, set()),
])
def test_filters(client, catalogue, params, expected):
    names = {v: k for k, v in catalogue.items()}
    assert {names[i] for i in listed(client, **params)} == expected
    assert {names[i] for i in listed(client, detail=True, **params)} == expected


def test_changes_since_includes_deleted_and_killed(client, catalogue):
    names = {v: k for k, v in catalogue.items()}
    since = "2000-01-01T00:00:00Z"
    assert {names[i] for i in listed(client, **{"changes-since": since})} == {
        "small", "big", "queued", "killed", "gone"}
    assert listed(client, **{"changes-since": "2999-01-01T00:00:00"}) == []


def test_updated_before_finds_images_not_touched_since(client, catalogue):
    names = {v: k for k, v in catalogue.items()}
    assert listed(client, updated_before="2000-01-01T00:00:00") == []
    client.put("/images/" + catalogue["small"], headers=ALICE,
               json={"image": {}})
    small = client.get("/images/" + catalogue["small"], headers=ALICE).get_json()
    cutoff = small["image"]["updated_at"]
    assert {names[i] for i in listed(client, updated_before=cutoff)} == {
        "big", "queued"}


def test_admin_deleted_true_lists_deleted_images(client, catalogue):
    assert listed(client, ADMIN, deleted="true", is_public="None") == [
        catalogue["gone"]]
    assert catalogue["gone"] not in listed(client, ALICE, deleted="true")


@pytest.mark.parametrize("params, message", [
    ({"size_min": "x"}, "size_min"),
    ({"size_max": "-1"}, "size_max"),
    ({"min_ram": "lots"}, "min_ram"),
    ({"protected": "maybe"}, "protected"),
    ({"changes-since": "yesterday"}, "changes-since"),
    ({"updated_before": "soon"}, "updated_before"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"sort_key": "owner"}, "sort_key"),
    ({"sort_dir": "up"}, "sort_dir"),
    ({"marker": "nope"}, "Invalid marker format"),
    ({"marker": str(uuid.uuid4())}, "Invalid marker. Image could not be found."),
])
def test_bad_list_parameters_are_400_naming_the_filter(client, params, message):
    response = client.get("/images", query_string=params, headers=ALICE)
    assert response.status_code == 400
    assert message in response.get_json()["message"]


def test_admin_is_public_must_be_a_known_value(client):
    response = client.get("/images", query_string={"is_public": "sometimes"},
                          headers=ADMIN)
    assert response.status_code == 400
    assert client.get("/images", query_string={"is_public": "sometimes"},
                      headers=ALICE).status_code == 200


def test_a_marker_the_caller_cannot_see_is_not_found(client, create):
    hidden = create(as_=BOB)
    response = client.get("/images", query_string={"marker": hidden["id"]},
                          headers=ALICE)
    assert response.status_code == 400


def test_limit_defaults_and_is_capped(db_url, create):
    from glance_registry.app import create_app
    app = create_app(make_conf(db_url, limit_param_default=3, api_limit_max=5))
    client = app.test_client()
    bulk_images([{"id": str(uuid.uuid4())} for _ in range(7)])
    assert len(listed(client)) == 3
    assert len(listed(client, limit=100)) == 5
    assert len(listed(client, limit=0)) == 0


def _expected_order(rows, sort_key, sort_dir):
    def key(row):
        value = row.get(sort_key)
        if sort_key in ("name", "container_format", "disk_format") and value is None:
            value = ""
        if sort_key == "size" and value is None:
            value = -1
        if sort_key == "created_at":
            return (value, row["id"])
        if sort_key == "id":
            return (value, row["created_at"])
        return (value, row["created_at"], row["id"])
    return [r["id"] for r in sorted(rows, key=key, reverse=(sort_dir == "desc"))]


def test_paging_returns_every_image_once_in_order_for_every_sort(client):
    rng = random.Random(42)
    rows = []
    for _ in range(2000):
        stamp = BASE + datetime.timedelta(seconds=rng.randrange(50))
        rows.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "name": rng.choice([None, "alpha", "beta", "Gamma", "beta2"]),
            "status": rng.choice(["active", "queued", "saving"]),
            "container_format": rng.choice([None, "bare", "ovf"]),
            "disk_format": rng.choice([None, "raw", "qcow2", "iso"]),
            "size": rng.choice([None, 0, 5, 10 ** 12]),
            "created_at": stamp,
            "updated_at": stamp + datetime.timedelta(seconds=rng.randrange(3)),
        })
    bulk_images(rows)
    for sort_key in SORT_KEYS:
        for sort_dir in ("asc", "desc"):
            seen, marker = [], None
            while True:
                params = {"sort_key": sort_key, "sort_dir": sort_dir, "limit": 300}
                if marker:
                    params["marker"] = marker
                page = listed(client, **params)
                seen += page
                if len(page) < 300:
                    break
                marker = page[-1]
            assert seen == _expected_order(rows, sort_key, sort_dir), (
                sort_key, sort_dir)


def test_default_order_is_newest_first(client):
    rows = [{"id": str(uuid.uuid4()),
             "created_at": BASE + datetime.timedelta(minutes=n)} for n in range(3)]
    bulk_images(rows)
    assert listed(client) == [r["id"] for r in reversed(rows)]


def test_a_page_costs_a_constant_number_of_queries(client, create):
    for n in range(30):
        create(name="i%d" % n, properties={"a": "1", "b": "2"}, tags=["t"],
               locations=[{"url": "file:///%d" % n}])
    counts = {}
    for limit in (1, 5, 30):
        executed = []
        hook = executed.append
        database.obj.query_hooks.append(hook)
        try:
            page = client.get("/images/detail", query_string={"limit": limit},
                              headers=ALICE).get_json()["images"]
        finally:
            database.obj.query_hooks.remove(hook)
        assert len(page) == limit
        assert all(image["properties"] == {"a": "1", "b": "2"} for image in page)
        assert all(len(image["locations"]) == 1 for image in page)
        counts[limit] = len(executed)
    assert 2 == counts[1] == counts[5] == counts[30], counts  # images + their children


def test_property_filters_match_whole_values_long_or_short(client, create):
    long_a, long_b = "x" * 250 + "a", "x" * 250 + "b"
    first = create(properties={"blob": long_a, "tag": "g7"})["id"]
    second = create(properties={"blob": long_b, "tag": "g7-suffixed"})["id"]
    third = create(properties={"Tag": "G7"})["id"]
    assert listed(client, **{"property-blob": long_a}) == [first]
    assert listed(client, **{"property-blob": long_b}) == [second]
    assert listed(client, **{"property-blob": "x" * 250}) == []
    # Names compare case-insensitively, values exactly; a prefix is no match.
    assert listed(client, **{"property-tag": "g7"}) == [first]
    assert listed(client, **{"property-TAG": "G7"}) == [third]


@pytest.mark.parametrize("params", [
    {"sort_key": "name", "sort_dir": "asc"},  # the classic client's default
    {},  # created_at desc
    {"sort_key": "size", "sort_dir": "desc"},
])
def test_a_first_page_reads_an_index_in_order_instead_of_sorting(client, create, params):
    if not database.obj.__class__.__name__.endswith("SqliteDatabase"):
        pytest.skip("query plans are checked on SQLite, whose planner had no statistics")
    create(name="one")
    events = []
    database.obj.query_hooks.append(events.append)
    try:
        # The embedded default's caller: an admin without a project sees all.
        client.get("/images/detail", query_string=dict(params, limit=20),
                   headers=headers(None, ["admin"], user=None))
    finally:
        database.obj.query_hooks.remove(events.append)
    listing = next(e for e in events if 'FROM "images"' in e.sql and "UNION" not in e.sql)
    with database.connection_context():
        plan = " ".join(str(row) for row in database.execute_sql(
            "EXPLAIN QUERY PLAN " + listing.sql, listing.params))
    assert "TEMP B-TREE" not in plan, plan
