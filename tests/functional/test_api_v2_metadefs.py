"""The metadata definitions catalog over real HTTP: real daemons, both databases.

The api runs noauth (every caller an admin), so visibility between projects
is driven at the registry, which decides it, with forwarded identities.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
import requests

pytestmark = pytest.mark.usefixtures("glance")
JSON = {"Accept": "application/json"}


def _name(prefix: str = "TEST::Func") -> str:
    """A namespace name no other test of the run (same database) uses."""
    return "%s::%s" % (prefix, uuid.uuid4().hex[:8])


def _url(glance, *parts: str) -> str:
    return glance.url + "/v2/metadefs/" + "/".join(quote(p, safe=":") for p in parts)


def _create(glance, name: str, **fields) -> requests.Response:
    return requests.post(_url(glance, "namespaces"), json={"namespace": name, **fields},
                         headers=JSON)


def test_namespaces_are_created_listed_shown_updated_and_deleted(glance):
    name = _name()
    resp = _create(glance, name, display_name="Func", description="A test namespace",
                   visibility="public",
                   properties={"speed": {"title": "Speed", "type": "integer"}},
                   resource_type_associations=[{"name": "OS::Glance::Image",
                                                "prefix": "fn_"}])
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert resp.headers["Location"].endswith("/v2/metadefs/namespaces/" + name)
    assert doc["schema"] == "/v2/schemas/metadefs/namespace"
    assert doc["self"] == "/v2/metadefs/namespaces/" + name
    assert doc["created_at"].endswith("Z") and len(doc["created_at"]) == 20
    assert "owner" not in doc  # noauth: an admin without a project
    assert doc["properties"] == {"speed": {"title": "Speed", "type": "integer"}}

    listed = requests.get(_url(glance, "namespaces"),
                          params={"resource_types": "OS::Glance::Image",
                                  "sort_key": "namespace", "sort_dir": "asc",
                                  "limit": 1000}).json()
    assert listed["schema"] == "/v2/schemas/metadefs/namespaces"
    assert listed["first"].startswith("/v2/metadefs/namespaces?")
    mine = [n for n in listed["namespaces"] if n["namespace"] == name]
    assert mine and mine[0]["resource_type_associations"][0]["prefix"] == "fn_"
    assert "properties" not in mine[0]

    prefixed = requests.get(_url(glance, "namespaces", name),
                            params={"resource_type": "OS::Glance::Image"}).json()
    assert list(prefixed["properties"]) == ["fn_speed"]

    renamed = _name()
    resp = requests.put(_url(glance, "namespaces", name),
                        json={**doc, "namespace": renamed, "protected": True})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["namespace"], resp.json()["protected"]) == (renamed, True)
    assert requests.get(_url(glance, "namespaces", name)).status_code == 404

    assert requests.delete(_url(glance, "namespaces", renamed)).status_code == 403
    requests.put(_url(glance, "namespaces", renamed),
                 json={"namespace": renamed, "protected": False})
    assert requests.delete(_url(glance, "namespaces", renamed)).status_code == 204
    gone = requests.get(_url(glance, "namespaces", renamed), headers=JSON)
    assert gone.status_code == 404 and gone.json()["code"] == 404


def test_namespace_lists_page_with_next_links(glance):
    prefix = _name("TEST::Page")
    for i in range(3):
        assert _create(glance, "%s::%d" % (prefix, i)).status_code == 201
    seen, url = [], _url(glance, "namespaces") + "?sort_key=namespace&sort_dir=asc&limit=2"
    while url:
        page = requests.get(url).json()
        seen += [n["namespace"] for n in page["namespaces"]]
        url = glance.url + page["next"] if "next" in page else None
    assert [n for n in seen if n.startswith(prefix)] == ["%s::%d" % (prefix, i)
                                                         for i in range(3)]
    assert len(seen) == len(set(seen))


def test_duplicates_conflict_and_bad_input_is_refused(glance):
    name = _name()
    assert _create(glance, name).status_code == 201
    assert _create(glance, name).status_code == 409
    assert _create(glance, _name(), visibility="shared").status_code == 400
    assert requests.post(_url(glance, "namespaces"), data="{nope",
                         headers=JSON).status_code == 400
    assert requests.get(_url(glance, "namespaces"),
                        params={"sort_key": "size"}).status_code == 400
    tags = _url(glance, "namespaces", name, "tags")
    assert requests.post(tags + "/t1").status_code == 201
    assert requests.post(tags + "/t1").status_code == 409
    objects = _url(glance, "namespaces", name, "objects")
    assert requests.post(objects, json={"description": "no name"}).status_code == 400


def test_objects_round_trip(glance):
    name = _name()
    _create(glance, name)
    objects = _url(glance, "namespaces", name, "objects")
    body = {"name": "CPU Limits", "description": "Limits", "required": ["quota"],
            "properties": {"quota": {"title": "Quota", "type": "integer", "minimum": 0}}}
    resp = requests.post(objects, json=body)
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert doc["self"] == "/v2/metadefs/namespaces/%s/objects/CPU Limits" % name
    assert doc["schema"] == "/v2/schemas/metadefs/object"
    assert requests.post(objects, json=body).status_code == 409
    listed = requests.get(objects).json()
    assert [o["name"] for o in listed["objects"]] == ["CPU Limits"]
    one = _url(glance, "namespaces", name, "objects", "CPU Limits")
    assert requests.get(one).json()["properties"] == body["properties"]
    # Clients send back what they read; the read-only fields are ignored.
    resp = requests.put(one, json={**doc, "description": "Changed"})
    assert resp.status_code == 200 and resp.json()["description"] == "Changed"
    assert requests.delete(one).status_code == 204
    assert requests.get(one).status_code == 404


def test_properties_round_trip(glance):
    name = _name()
    _create(glance, name, resource_type_associations=[{"name": "OS::Nova::Flavor",
                                                       "prefix": "fn:"}])
    props = _url(glance, "namespaces", name, "properties")
    body = {"name": "mode", "title": "Mode", "type": "string", "enum": ["a", "b"]}
    resp = requests.post(props, json=body)
    assert resp.status_code == 201 and resp.json() == body
    assert requests.post(props, json=body).status_code == 409
    assert requests.post(props, json={"name": "x", "type": "string"}).status_code == 400
    assert requests.get(props).json() == {"properties": {"mode": {
        "title": "Mode", "type": "string", "enum": ["a", "b"]}}}
    one = _url(glance, "namespaces", name, "properties", "mode")
    by_type = requests.get(_url(glance, "namespaces", name, "properties", "fn:mode"),
                           params={"resource_type": "OS::Nova::Flavor"})
    assert by_type.status_code == 200 and by_type.json()["name"] == "mode"
    resp = requests.put(one, json={**body, "default": "a"})
    assert resp.status_code == 200 and resp.json()["default"] == "a"
    assert requests.delete(one).status_code == 204
    assert requests.get(one).status_code == 404


def test_tags_round_trip(glance):
    name = _name()
    _create(glance, name)
    tags = _url(glance, "namespaces", name, "tags")
    resp = requests.post(tags, json={"tags": [{"name": "a"}, {"name": "b"}]})
    assert resp.status_code == 201
    assert resp.json() == {"tags": [{"name": "a"}, {"name": "b"}]}
    appended = requests.post(tags, json={"tags": [{"name": "c"}]},
                             headers={"X-Openstack-Append": "true"})
    assert appended.status_code == 201
    listed = requests.get(tags, params={"sort_key": "name", "sort_dir": "asc"}).json()
    assert [t["name"] for t in listed["tags"]] == ["a", "b", "c"]
    replaced = requests.post(tags, json={"tags": [{"name": "z"}]})
    assert replaced.status_code == 201
    assert [t["name"] for t in requests.get(tags).json()["tags"]] == ["z"]
    dup = requests.post(tags, json={"tags": [{"name": "y"}, {"name": "y"}]})
    assert dup.status_code == 409
    one = tags + "/z"
    assert requests.get(one).json()["name"] == "z"
    resp = requests.put(one, json={"name": "renamed"})
    assert resp.status_code == 200 and resp.json()["name"] == "renamed"
    assert requests.delete(tags + "/renamed").status_code == 204
    assert requests.post(tags + "/w").status_code == 201
    assert requests.delete(tags).status_code == 204
    assert requests.get(tags).json() == {"tags": []}


def test_resource_types_and_associations(glance):
    name = _name()
    _create(glance, name)
    kind = "OS::Test::%s" % uuid.uuid4().hex[:8]
    assocs = _url(glance, "namespaces", name, "resource_types")
    resp = requests.post(assocs, json={"name": kind, "prefix": "t_",
                                       "properties_target": "image"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["properties_target"] == "image"
    assert requests.post(assocs, json={"name": kind}).status_code == 409
    types = requests.get(_url(glance, "resource_types")).json()["resource_types"]
    assert kind in [t["name"] for t in types]
    listed = requests.get(assocs).json()["resource_type_associations"]
    assert [(a["name"], a["prefix"]) for a in listed] == [(kind, "t_")]
    assert requests.delete(assocs + "/" + kind).status_code == 204
    assert requests.get(assocs).json() == {"resource_type_associations": []}


def test_a_protected_namespace_keeps_its_contents(glance):
    name = _name()
    _create(glance, name, protected=True, objects=[{"name": "o"}], tags=[{"name": "t"}],
            properties={"p": {"title": "P", "type": "string"}})
    for path in (("objects", "o"), ("properties", "p"), ("tags", "t"), ("objects",),
                 ("properties",), ("tags",)):
        resp = requests.delete(_url(glance, "namespaces", name, *path), headers=JSON)
        assert resp.status_code == 403, path
    assert requests.get(_url(glance, "namespaces", name)).json()["tags"][0]["name"] == "t"


def test_a_private_namespace_is_hidden_from_other_projects(glance):
    name = _name()
    registry = glance.registry.url + "/metadefs/namespaces"
    alice = {"X-Glance-Context-Project": "alice", "X-Glance-Context-Roles": "member"}
    bob = {"X-Glance-Context-Project": "bob", "X-Glance-Context-Roles": "member"}
    assert requests.post(registry, json={"namespace": name},
                         headers=alice).status_code == 201
    assert requests.get(registry + "/" + name, headers=alice).status_code == 200
    assert requests.get(registry + "/" + name, headers=bob).status_code == 404
    assert requests.get(registry + "/" + name + "/tags", headers=bob).status_code == 404
    listed = requests.get(registry, headers=bob, params={"limit": 1000}).json()
    assert name not in [n["namespace"] for n in listed["namespaces"]]
    # The admin api sees it, and its owner.
    shown = requests.get(_url(glance, "namespaces", name)).json()
    assert (shown["owner"], shown["visibility"]) == ("alice", "private")


@pytest.mark.parametrize("doc", ["namespace", "namespaces", "object", "objects",
                                 "property", "properties", "tag", "tags",
                                 "resource_type", "resource_types"])
def test_schemas_are_served(glance, doc):
    resp = requests.get(glance.url + "/v2/schemas/metadefs/" + doc)
    assert resp.status_code == 200
    assert resp.json()["properties"]


def test_documents_validate_against_their_schemas(glance):
    jsonschema = pytest.importorskip("jsonschema")
    name = _name()
    doc = _create(glance, name, visibility="public", tags=[{"name": "t"}],
                  objects=[{"name": "o", "properties": {"q": {"title": "Q",
                                                              "type": "integer"}}}],
                  properties={"p": {"title": "P", "type": "string", "enum": ["x"]}},
                  resource_type_associations=[{"name": "OS::Glance::Image"}]).json()

    def schema(which):
        return requests.get(glance.url + "/v2/schemas/metadefs/" + which).json()

    jsonschema.validate(doc, schema("namespace"))
    jsonschema.validate(requests.get(_url(glance, "namespaces")).json(),
                        schema("namespaces"))
    jsonschema.validate(requests.get(_url(glance, "namespaces", name, "objects")).json(),
                        schema("objects"))
    jsonschema.validate(requests.get(_url(glance, "namespaces", name, "properties",
                                          "p")).json(), schema("property"))
    jsonschema.validate(requests.get(_url(glance, "namespaces", name, "tags")).json(),
                        schema("tags"))
    assert requests.get(glance.url + "/v2/schemas/metadefs/nothing").status_code == 404
