"""The metadata definitions catalog in the registry: rules over HTTP, the
schema migration 0005 builds, and glance-manage db load_metadefs."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_support import ADMIN
from registry_support import ALICE
from registry_support import BOB
from registry_support import NOBODY

from glance_registry import db
from glance_registry import manage
from glance_registry import migrations
from glance_registry.metadef_models import ALL_MODELS
from glance_registry.metadef_models import CHILD_MODELS
from glance_registry.metadef_models import MetadefTag
from glance_registry.metadef_models import Namespace
from glance_registry.metadef_models import ResourceType
from tests.daemons import write_config

FIXTURES = Path(__file__).parent / "metadefs_fixtures"
NS = "/metadefs/namespaces"


@pytest.fixture(autouse=True)
def _empty_catalog(request):
    """PostgreSQL's database is shared by the run: start each test with no catalog."""
    if "app" not in request.fixturenames:
        return
    request.getfixturevalue("app")
    with db.database.connection_context():
        for model in CHILD_MODELS + (Namespace, ResourceType):
            model.delete().execute()


@pytest.fixture
def namespace(client):
    """Create a namespace as ``as_`` and return its JSON."""

    def _create(name="OS::Test", as_=ALICE, **fields):
        response = client.post(NS, json={"namespace": name, **fields}, headers=as_)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return _create


def _names(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [n["namespace"] for n in response.get_json()["namespaces"]]


def test_a_namespace_is_created_shown_updated_and_deleted(client, namespace):
    created = namespace("OS::Test", display_name="Test", description="d",
                        properties={"p": {"title": "P", "type": "string"}},
                        objects=[{"name": "o", "required": ["q"],
                                  "properties": {"q": {"title": "Q", "type": "integer"}}}],
                        tags=[{"name": "t"}],
                        resource_type_associations=[{"name": "OS::Glance::Image",
                                                     "prefix": "hw_"}])
    assert created["owner"] == "alice"
    assert (created["visibility"], created["protected"]) == ("private", False)
    assert created["properties"]["p"]["title"] == "P"
    assert created["objects"][0]["required"] == ["q"]
    assert [t["name"] for t in created["tags"]] == ["t"]
    assert created["resource_type_associations"][0]["prefix"] == "hw_"

    shown = client.get(NS + "/OS::Test", headers=ALICE).get_json()
    assert shown == created

    updated = client.put(NS + "/OS::Test", json={"namespace": "OS::Renamed",
                                                 "visibility": "public"}, headers=ALICE)
    assert updated.status_code == 200
    body = updated.get_json()
    # PUT replaces the namespace's own fields; what it defines stays.
    assert (body["namespace"], body["visibility"], body["display_name"]) == (
        "OS::Renamed", "public", None)
    assert "p" in body["properties"] and body["owner"] == "alice"
    assert client.get(NS + "/OS::Test", headers=ALICE).status_code == 404

    assert client.delete(NS + "/OS::Renamed", headers=ALICE).status_code == 204
    assert client.get(NS + "/OS::Renamed", headers=ALICE).status_code == 404
    # Its definitions went with it; the resource type stays.
    with db.database.connection_context():
        assert MetadefTag.select().count() == 0
        assert ResourceType.select().count() == 1


def test_a_private_namespace_is_seen_by_its_project_and_admins_only(client, namespace):
    namespace("OS::Private", as_=ALICE, tags=[{"name": "t"}])
    namespace("OS::Public", as_=ALICE, visibility="public")
    assert sorted(_names(client.get(NS, headers=ALICE))) == ["OS::Private", "OS::Public"]
    assert _names(client.get(NS, headers=BOB)) == ["OS::Public"]
    assert _names(client.get(NS, headers=NOBODY)) == ["OS::Public"]
    assert sorted(_names(client.get(NS, headers=ADMIN))) == ["OS::Private", "OS::Public"]
    for path in ("", "/objects", "/properties", "/tags", "/tags/t", "/resource_types"):
        assert client.get(NS + "/OS::Private" + path, headers=BOB).status_code == 404, path
        assert client.get(NS + "/OS::Private" + path, headers=ADMIN).status_code == 200
    assert client.delete(NS + "/OS::Private", headers=BOB).status_code == 404
    assert client.post(NS + "/OS::Private/tags/x", headers=BOB).status_code == 404
    assert client.get(NS + "/OS::Public", headers=BOB).status_code == 200


def test_the_owner_is_the_callers_project_unless_an_admin_names_one(client, namespace):
    assert namespace("OS::A", as_=ALICE, owner="bob")["owner"] == "alice"
    assert namespace("OS::B", as_=ADMIN, owner="bob")["owner"] == "bob"
    assert namespace("OS::C", as_=ADMIN)["owner"] == "admin-project"
    changed = client.put(NS + "/OS::A", json={"namespace": "OS::A", "owner": "bob"},
                         headers=ALICE).get_json()
    assert changed["owner"] == "alice"


def test_namespace_names_are_unique(client, namespace):
    namespace("OS::One", as_=ALICE)
    namespace("OS::Two", as_=ALICE)
    # A name another project holds privately is still taken.
    again = client.post(NS, json={"namespace": "OS::One"}, headers=BOB)
    assert again.status_code == 409
    rename = client.put(NS + "/OS::Two", json={"namespace": "OS::One"}, headers=ALICE)
    assert rename.status_code == 409


def test_nothing_in_a_protected_namespace_can_be_deleted(client, namespace):
    namespace("OS::Locked", protected=True,
              objects=[{"name": "o"}], tags=[{"name": "t"}],
              properties={"p": {"title": "P", "type": "string"}},
              resource_type_associations=[{"name": "OS::Glance::Image"}])
    base = NS + "/OS::Locked"
    for path in ("", "/objects", "/objects/o", "/properties", "/properties/p", "/tags",
                 "/tags/t", "/resource_types/OS::Glance::Image"):
        assert client.delete(base + path, headers=ADMIN).status_code == 403, path
    unlock = client.put(base, json={"namespace": "OS::Locked", "protected": False},
                        headers=ADMIN)
    assert unlock.status_code == 200
    assert client.delete(base + "/objects/o", headers=ADMIN).status_code == 204
    assert client.delete(base, headers=ADMIN).status_code == 204


@pytest.mark.parametrize("body", [
    {},
    {"namespace": ""},
    {"namespace": "x" * 81},
    {"namespace": "OS::X", "visibility": "shared"},
    {"namespace": "OS::X", "protected": "yes"},
    {"namespace": "OS::X", "colour": "red"},
    {"namespace": "OS::X", "properties": {"p": {"type": "string"}}},
    {"namespace": "OS::X", "properties": {"p": {"title": "P", "type": "text"}}},
    {"namespace": "OS::X", "properties": {"p": {"title": "P", "type": "string",
                                                "minimum": "1"}}},
    {"namespace": "OS::X", "objects": [{"name": "o"}, {"name": "o"}]},
    {"namespace": "OS::X", "tags": [{"nom": "t"}]},
    ["OS::X"],
], ids=lambda b: str(b)[:40])
def test_a_malformed_namespace_is_refused(client, body):
    response = client.post(NS, json=body, headers=ADMIN)
    assert response.status_code == 400, response.get_data(as_text=True)


def test_lists_filter_sort_and_page(client, namespace):
    namespace("OS::B", as_=ADMIN, visibility="public",
              resource_type_associations=[{"name": "OS::Nova::Flavor"}])
    namespace("OS::A", as_=ADMIN,
              resource_type_associations=[{"name": "OS::Glance::Image"}])
    namespace("OS::C", as_=ADMIN,
              resource_type_associations=[{"name": "OS::Cinder::Volume"}])
    assert _names(client.get(NS, headers=ADMIN)) == ["OS::C", "OS::A", "OS::B"]
    asc = NS + "?sort_key=namespace&sort_dir=asc"
    assert _names(client.get(asc, headers=ADMIN)) == ["OS::A", "OS::B", "OS::C"]
    page = client.get(asc + "&limit=2", headers=ADMIN).get_json()
    assert page["next_marker"] == "OS::B"
    rest = client.get(asc + "&limit=2&marker=OS::B", headers=ADMIN).get_json()
    assert ([n["namespace"] for n in rest["namespaces"]], rest["next_marker"]) == (
        ["OS::C"], None)
    assert _names(client.get(NS + "?visibility=public", headers=ADMIN)) == ["OS::B"]
    by_type = NS + "?sort_key=namespace&resource_types=OS::Glance::Image,OS::Nova::Flavor"
    assert _names(client.get(by_type, headers=ADMIN)) == ["OS::B", "OS::A"]
    for bad in ("sort_key=owner", "sort_dir=up", "limit=x", "visibility=shared"):
        assert client.get(NS + "?" + bad, headers=ADMIN).status_code == 400, bad
    assert client.get(NS + "?marker=OS::Nope", headers=ADMIN).status_code == 404


def test_objects_are_created_listed_replaced_and_deleted(client, namespace):
    namespace("OS::Obj")
    base = NS + "/OS::Obj/objects"
    body = {"name": "o1", "description": "first",
            "properties": {"a": {"title": "A", "type": "boolean"}}}
    created = client.post(base, json=body, headers=ALICE)
    assert created.status_code == 201
    assert created.get_json()["properties"] == {"a": {"title": "A", "type": "boolean"}}
    assert client.post(base, json=body, headers=ALICE).status_code == 409
    assert client.post(base, json={"name": "o2"}, headers=ALICE).status_code == 201
    assert [o["name"] for o in client.get(base, headers=ALICE).get_json()["objects"]] == [
        "o1", "o2"]
    replaced = client.put(base + "/o1", json={"name": "o1", "required": ["a"]},
                          headers=ALICE).get_json()
    assert (replaced["description"], replaced["required"], replaced["properties"]) == (
        None, ["a"], {})
    assert client.put(base + "/o1", json={"name": "o2"}, headers=ALICE).status_code == 409
    assert client.put(base + "/o1", json={"nom": "x"}, headers=ALICE).status_code == 400
    assert client.delete(base + "/o1", headers=ALICE).status_code == 204
    assert client.get(base + "/o1", headers=ALICE).status_code == 404
    assert client.delete(base, headers=ALICE).status_code == 204
    assert client.get(base, headers=ALICE).get_json()["objects"] == []


def test_properties_are_created_listed_replaced_and_deleted(client, namespace):
    namespace("OS::Prop")
    base = NS + "/OS::Prop/properties"
    body = {"name": "speed", "title": "Speed", "type": "integer", "minimum": 1}
    assert client.post(base, json=body, headers=ALICE).get_json() == body
    assert client.post(base, json=body, headers=ALICE).status_code == 409
    listed = client.get(base, headers=ALICE).get_json()["properties"]
    assert listed == {"speed": body}
    renamed = client.put(base + "/speed", json={"name": "pace", "title": "Pace",
                                                "type": "number"}, headers=ALICE)
    assert renamed.get_json() == {"name": "pace", "title": "Pace", "type": "number"}
    assert client.get(base + "/speed", headers=ALICE).status_code == 404
    assert client.post(base, json={"name": "x", "title": "X"},
                       headers=ALICE).status_code == 400
    assert client.delete(base + "/pace", headers=ALICE).status_code == 204
    assert client.delete(base + "/pace", headers=ALICE).status_code == 404


def test_tags_one_at_a_time_in_bulk_renamed_and_paged(client, namespace):
    namespace("OS::Tag")
    base = NS + "/OS::Tag/tags"
    assert client.post(base + "/one", headers=ALICE).status_code == 201
    assert client.post(base + "/one", headers=ALICE).status_code == 409
    replaced = client.post(base, json={"tags": [{"name": "b"}, {"name": "a"}]},
                           headers=ALICE)
    assert [t["name"] for t in replaced.get_json()["tags"]] == ["b", "a"]
    appended = client.post(base, json={"tags": [{"name": "c"}], "append": True},
                           headers=ALICE)
    assert appended.status_code == 201
    again = client.post(base, json={"tags": [{"name": "c"}], "append": True},
                        headers=ALICE)
    assert again.status_code == 409
    twice = client.post(base, json={"tags": [{"name": "d"}, {"name": "d"}]}, headers=ALICE)
    assert twice.status_code == 409

    def names(query):
        return [t["name"] for t in client.get(base + query, headers=ALICE).get_json()["tags"]]

    assert names("?sort_key=name&sort_dir=asc") == ["a", "b", "c"]
    assert names("?sort_key=name&sort_dir=asc&limit=1&marker=a") == ["b"]
    assert client.get(base + "?marker=zz", headers=ALICE).status_code == 404
    renamed = client.put(base + "/a", json={"name": "z"}, headers=ALICE)
    assert renamed.get_json()["name"] == "z"
    assert client.put(base + "/z", json={"name": "b"}, headers=ALICE).status_code == 409
    assert client.delete(base + "/z", headers=ALICE).status_code == 204
    assert client.delete(base, headers=ALICE).status_code == 204
    assert names("") == []


def test_resource_type_associations(client, namespace):
    namespace("OS::Assoc")
    base = NS + "/OS::Assoc/resource_types"
    made = client.post(base, json={"name": "OS::Nova::Flavor", "prefix": "hw:",
                                   "properties_target": "flavor"}, headers=ALICE)
    assert made.status_code == 201
    assert (made.get_json()["prefix"], made.get_json()["properties_target"]) == (
        "hw:", "flavor")
    again = client.post(base, json={"name": "OS::Nova::Flavor"}, headers=ALICE)
    assert again.status_code == 409
    types = client.get("/metadefs/resource_types", headers=BOB).get_json()
    assert [t["name"] for t in types["resource_types"]] == ["OS::Nova::Flavor"]
    listed = client.get(base, headers=ALICE).get_json()["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Nova::Flavor"]
    assert client.delete(base + "/OS::Nova::Flavor", headers=ALICE).status_code == 204
    assert client.delete(base + "/OS::Nova::Flavor", headers=ALICE).status_code == 404
    assert client.post(base, json={"prefix": "x"}, headers=ALICE).status_code == 400


def test_migration_builds_the_tables_the_catalog_models_describe(empty_db_url):
    database = db.make_database(empty_db_url)
    try:
        migrations.sync(database)
        tables = set(database.get_tables())
        for model in ALL_MODELS:
            table = model._meta.table_name
            assert table in tables
            columns = {c.name for c in database.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table
        unique = {tuple(i.columns) for i in database.get_indexes("metadef_objects")
                  if i.unique}
        assert ("namespace_id", "name") in unique
    finally:
        db.close_all(database)


def test_glance_manage_loads_metadefs_once(app, db_url, tmp_path, capsys):
    config = str(write_config(tmp_path / "glance-manage.conf",
                              {"database": {"connection": db_url}}))
    command = ["--config-file", config, "db", "load_metadefs", str(FIXTURES)]
    assert manage.main(command) == 0
    assert "Loaded namespace TEST::Compute::Widgets" in capsys.readouterr().out
    db.bind_database(db.make_database(db_url))
    client = app.test_client()
    widgets = client.get(NS + "/TEST::Compute::Widgets", headers=BOB).get_json()
    assert (widgets["protected"], widgets["owner"]) == (True, None)
    assert set(widgets["properties"]) == {"count", "colour"}
    assert widgets["objects"][0]["properties"]["limit_hard"]["readonly"] is False
    gadgets = client.get(NS + "/TEST::Storage::Gadgets", headers=ADMIN).get_json()
    assert gadgets["owner"] == "gadget-project"
    assert client.get(NS + "/TEST::Storage::Gadgets", headers=BOB).status_code == 404

    # Loading again changes nothing, even a namespace changed since.
    client.put(NS + "/TEST::Storage::Gadgets", json={"namespace": "TEST::Storage::Gadgets",
                                                     "description": "edited"},
               headers=ADMIN)
    assert manage.main(command) == 0
    assert "Skipped (already present) namespace TEST::Compute::Widgets" in (
        capsys.readouterr().out)
    db.bind_database(db.make_database(db_url))
    assert len(_names(client.get(NS, headers=ADMIN))) == 2
    edited = client.get(NS + "/TEST::Storage::Gadgets", headers=ADMIN).get_json()
    assert edited["description"] == "edited"
    types = client.get("/metadefs/resource_types", headers=ADMIN).get_json()
    assert len(types["resource_types"]) == 3

    # --overwrite puts the files' content back, protected namespaces included.
    assert manage.main(command + ["--overwrite"]) == 0
    assert "Replaced namespace TEST::Compute::Widgets" in capsys.readouterr().out
    db.bind_database(db.make_database(db_url))
    restored = client.get(NS + "/TEST::Storage::Gadgets", headers=ADMIN).get_json()
    assert restored["description"].startswith("A second invented namespace")


def test_glance_manage_reports_a_bad_directory(db_url, tmp_path, capsys):
    config = str(write_config(tmp_path / "glance-manage.conf",
                              {"database": {"connection": db_url}}))
    (tmp_path / "broken.json").write_text("{not json")
    assert manage.main(["--config-file", config, "db", "load_metadefs",
                        "--path", str(tmp_path)]) == 1
    assert "broken.json" in capsys.readouterr().err
