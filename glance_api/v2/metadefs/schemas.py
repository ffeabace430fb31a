"""The JSON schemas of the catalog's documents (/v2/schemas/metadefs/...).

glanceclient and Horizon build their models from these and validate what
they send and receive against them, so every attribute the views emit is
described here, and documents with a fixed shape allow nothing else.
"""

from __future__ import annotations

import copy

import flask

from glance_api.exceptions import NotFound
from glance_api.v2.metadefs import calls

TYPES = ["array", "boolean", "integer", "number", "object", "string", None]


def _time(what: str, happened: str) -> dict:
    return {"type": "string", "format": "date-time", "readOnly": True,
            "description": "When the %s was %s." % (what, happened)}


def _times(what: str) -> dict:
    return {"created_at": _time(what, "created"),
            "updated_at": _time(what, "last changed")}


def _links() -> list[dict]:
    return [{"rel": "self", "href": "{self}"},
            {"rel": "describedby", "href": "{schema}"}]


def _definitions() -> dict:
    """The shared parts: a property definition map and a list of names."""
    counter = {"type": "integer", "minimum": 0}
    return {
        "positiveInteger": counter,
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"},
                                              {"default": 0}]},
        "stringArray": {"type": "array", "items": {"type": "string"},
                        "uniqueItems": True},
        "property": {"type": "object", "additionalProperties": _property_body()},
    }


def _property_body(with_name: bool = True) -> dict:
    fields = {
        "title": {"type": "string"},
        "type": {"type": "string", "enum": TYPES},
        "description": {"type": "string"},
        "default": {},
        "enum": {"type": "array"},
        "items": {"type": "object", "properties": {
            "type": {"type": "string", "enum": TYPES}, "enum": {"type": "array"}}},
        "operators": {"type": "array", "items": {"type": "string"}},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "pattern": {"type": "string", "format": "regex"},
        "readonly": {"type": "boolean"},
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
        "required": {"$ref": "#/definitions/stringArray"},
    }
    if with_name:
        fields["name"] = {"type": "string", "maxLength": 80}
    return {"type": "object", "properties": fields, "required": ["title", "type"]}


def association() -> dict:
    """A resource type association."""
    return {
        "name": "resource_type_association",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 80,
                     "description": "The resource type, named as Heat names it "
                                    "where it can (OS::Glance::Image)."},
            "prefix": {"type": "string", "maxLength": 80,
                       "description": "Put before the namespace's property names "
                                      "when applied to this resource type; ends "
                                      "with its separator (hw_, hw:)."},
            "properties_target": {"type": "string", "maxLength": 80,
                                  "description": "Which of the resource's key/value "
                                                 "sets the properties go to (for "
                                                 "volumes: image)."},
            **_times("association"),
        },
    }


def tag() -> dict:
    """A tag."""
    return {"name": "tag", "additionalProperties": False, "required": ["name"],
            "properties": {"name": {"type": "string", "maxLength": 80},
                           **_times("tag")}}


def property_() -> dict:
    """A property definition."""
    doc = _property_body()
    doc["required"] = ["name", "title", "type"]
    return {"name": "property", "additionalProperties": False,
            "definitions": _definitions(), **doc}


def object_() -> dict:
    """An object definition."""
    return {
        "name": "object", "additionalProperties": False, "required": ["name"],
        "definitions": _definitions(),
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "description": {"type": "string"},
            "required": {"$ref": "#/definitions/stringArray"},
            "properties": {"$ref": "#/definitions/property"},
            "schema": {"type": "string", "readOnly": True},
            "self": {"type": "string", "readOnly": True},
            **_times("object"),
        },
        "links": _links(),
    }


def namespace() -> dict:
    """A namespace, with what it may define."""
    assoc = association()
    assoc_item = {"type": "object", "properties": assoc["properties"]}
    return {
        "name": "namespace", "additionalProperties": False, "required": ["namespace"],
        "definitions": _definitions(),
        "properties": {
            "namespace": {"type": "string", "maxLength": 80,
                          "description": "The namespace's name, unique in the catalog."},
            "display_name": {"type": "string", "maxLength": 80,
                             "description": "A name for people to read (UIs show it)."},
            "description": {"type": "string", "maxLength": 500,
                            "description": "What the namespace's definitions are for."},
            "visibility": {"type": "string", "enum": ["public", "private"],
                           "description": "public: every project sees it; private: "
                                          "its owner and administrators."},
            "protected": {"type": "boolean",
                          "description": "If true, neither the namespace nor anything "
                                         "in it can be deleted."},
            "owner": {"type": "string", "maxLength": 255,
                      "description": "The project that owns the namespace."},
            "resource_type_associations": {"type": "array", "items": assoc_item},
            "properties": {"$ref": "#/definitions/property"},
            "objects": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "description": {"type": "string"},
                "required": {"$ref": "#/definitions/stringArray"},
                "properties": {"$ref": "#/definitions/property"}}}},
            "tags": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}}}},
            "schema": {"type": "string", "readOnly": True},
            "self": {"type": "string", "readOnly": True},
            **_times("namespace"),
        },
        "links": _links(),
    }


def _collection(name: str, key: str, item: dict, paged: bool = True) -> dict:
    item = copy.deepcopy(item)
    definitions = item.pop("definitions", None)
    doc = {"name": name,
           "properties": {key: {"type": "array", "items": item},
                          "schema": {"type": "string"}},
           "links": [{"rel": "describedby", "href": "{schema}"}]}
    if paged:
        doc["properties"].update({"first": {"type": "string"}, "next": {"type": "string"}})
        doc["links"] = [{"rel": "first", "href": "{first}"},
                        {"rel": "next", "href": "{next}"}] + doc["links"]
    if definitions:
        doc["definitions"] = definitions
    return doc


def properties() -> dict:
    """The ``{name: property}`` map of a namespace."""
    single = property_()
    single["properties"].pop("name")
    single["required"] = ["title", "type"]
    single.pop("name")
    return {"name": "properties", "definitions": single.pop("definitions"),
            "properties": {"properties": {"type": "object",
                                          "additionalProperties": single},
                           "first": {"type": "string"}, "next": {"type": "string"},
                           "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"},
                      {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


DOCUMENTS = {
    "namespace": namespace,
    "namespaces": lambda: _collection("namespaces", "namespaces", namespace()),
    "object": object_,
    "objects": lambda: _collection("objects", "objects", object_()),
    "property": property_,
    "properties": properties,
    "tag": tag,
    "tags": lambda: _collection("tags", "tags", tag()),
    "resource_type": association,
    "resource_types": lambda: _collection("resource_type_associations",
                                          "resource_type_associations", association()),
}


def routes(bp: flask.Blueprint) -> None:
    """Mount the schema documents on ``bp``."""
    calls.route(bp, "/v2/schemas/metadefs/<name>", show, "GET")


def show(name):
    """One schema document; 404 for a name the catalog has none of."""
    build = DOCUMENTS.get(name)
    if build is None:
        raise NotFound("There is no metadefs schema named %s." % name)
    return build()
