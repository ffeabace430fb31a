"""Parsing catalog bodies: what a namespace, object, property, tag or resource
type association may hold. Pure functions; BadRequest names what is wrong."""

from __future__ import annotations

import dataclasses
from typing import Any

from glance_registry.errors import BadRequest

NAME_MAX = 80
DESCRIPTION_MAX = 500
VISIBILITIES = ("public", "private")
PROPERTY_TYPES = ("array", "boolean", "integer", "number", "object", "string")

# The keys a property definition may carry (a subset of JSON schema), and
# the JSON type each must have; None: any JSON value.
PROPERTY_KEYS: dict[str, tuple | None] = {
    "title": (str,), "type": (str,), "description": (str,), "default": None,
    "enum": (list,), "items": (dict,), "operators": (list,),
    "minimum": (int, float), "maximum": (int, float),
    "minLength": (int,), "maxLength": (int,), "minItems": (int,),
    "maxItems": (int,), "pattern": (str,), "readonly": (bool,),
    "uniqueItems": (bool,), "additionalItems": (bool,), "required": (list,),
}
NAMESPACE_KEYS = {"namespace", "display_name", "description", "visibility",
                  "protected", "owner", "objects", "properties", "tags",
                  "resource_type_associations"}
NAMESPACE_CHILDREN = ("objects", "properties", "tags", "resource_type_associations")
OBJECT_KEYS = {"name", "description", "required", "properties"}
ASSOCIATION_KEYS = {"name", "prefix", "properties_target"}


@dataclasses.dataclass(frozen=True)
class NamespaceBody:
    """A parsed namespace: its own columns and, on create, what it defines."""

    columns: dict[str, Any]
    objects: list["ObjectBody"]
    properties: dict[str, dict]
    tags: list[str]
    associations: list["AssociationBody"]


@dataclasses.dataclass(frozen=True)
class ObjectBody:
    """A parsed object definition."""

    name: str
    description: str | None
    required: list[str]
    properties: dict[str, dict]


@dataclasses.dataclass(frozen=True)
class AssociationBody:
    """A parsed resource type association."""

    name: str
    prefix: str | None
    properties_target: str | None


def _mapping(body: Any, what: str) -> dict:
    if not isinstance(body, dict):
        raise BadRequest("The %s must be a JSON object." % what)
    return body


def _unknown(body: dict, allowed: set, what: str) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise BadRequest("Unknown %s attribute(s): %s." % (what, ", ".join(extra)))


def name(value: Any, what: str = "name") -> str:
    """A name of 1 to 80 characters."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("The %s must be a non-empty string." % what)
    if len(value) > NAME_MAX:
        raise BadRequest("The %s is longer than %d characters." % (what, NAME_MAX))
    return value


def _optional_text(body: dict, key: str, limit: int | None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest("%s must be a string." % key)
    if limit is not None and len(value) > limit:
        raise BadRequest("%s is longer than %d characters." % (key, limit))
    return value


def namespace(body: Any, creating: bool, is_admin: bool) -> NamespaceBody:
    """A namespace from a POST (children allowed) or PUT (replaces its fields)."""
    body = _mapping(body, "namespace")
    allowed = NAMESPACE_KEYS if creating else NAMESPACE_KEYS - set(NAMESPACE_CHILDREN)
    _unknown(body, allowed, "namespace")
    visibility = body.get("visibility") or "private"
    if visibility not in VISIBILITIES:
        raise BadRequest("visibility must be public or private.")
    protected = body.get("protected", False)
    if not isinstance(protected, bool):
        raise BadRequest("protected must be true or false.")
    columns = {"namespace": name(body.get("namespace"), "namespace"),
               "display_name": _optional_text(body, "display_name", NAME_MAX),
               "description": _optional_text(body, "description", DESCRIPTION_MAX),
               "visibility": visibility, "protected": protected}
    if is_admin and body.get("owner") is not None:
        columns["owner"] = _optional_text(body, "owner", 255)
    objects = [object_(o) for o in _list(body, "objects")]
    tags = [tag(t) for t in _list(body, "tags")]
    associations = [association(a) for a in _list(body, "resource_type_associations")]
    props = body.get("properties") or {}
    properties = dict(property_(_mapping(p, "property"), key)
                      for key, p in _mapping(props, "properties").items())
    _unique([o.name for o in objects], "object")
    _unique(tags, "tag")
    _unique([a.name for a in associations], "resource type association")
    return NamespaceBody(columns, objects, properties, tags, associations)


def _list(body: dict, key: str) -> list:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise BadRequest("%s must be a list." % key)
    return value


def _unique(names: list[str], what: str) -> None:
    seen = set()
    for item in names:
        if item in seen:
            raise BadRequest("Duplicate %s %s." % (what, item))
        seen.add(item)


def property_(body: Any, default_name: str | None = None) -> tuple[str, dict]:
    """A property definition: its name and its schema (every key but name)."""
    body = _mapping(body, "property")
    prop_name = name(body.get("name", default_name), "property name")
    schema = {k: v for k, v in body.items() if k != "name"}
    _unknown(schema, set(PROPERTY_KEYS), "property")
    for key, types in PROPERTY_KEYS.items():
        value = schema.get(key)
        if value is not None and types is not None and (
                not isinstance(value, types) or
                (bool not in types and isinstance(value, bool))):
            raise BadRequest("Property %s: %s has the wrong type." % (prop_name, key))
    if not schema.get("title"):
        raise BadRequest("Property %s needs a title." % prop_name)
    if schema.get("type") not in PROPERTY_TYPES:
        raise BadRequest("Property %s: type must be one of %s."
                         % (prop_name, ", ".join(PROPERTY_TYPES)))
    return prop_name, schema


def object_(body: Any) -> ObjectBody:
    """An object definition."""
    body = _mapping(body, "object")
    _unknown(body, OBJECT_KEYS, "object")
    required = body.get("required") or []
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise BadRequest("required must be a list of property names.")
    props = _mapping(body.get("properties") or {}, "properties")
    return ObjectBody(name(body.get("name"), "object name"),
                      _optional_text(body, "description", None), required,
                      dict(property_(_mapping(p, "property"), key)
                           for key, p in props.items()))


def tag(body: Any) -> str:
    """A tag's name from ``{"name": ...}``."""
    return name(_mapping(body, "tag").get("name"), "tag name")


def association(body: Any) -> AssociationBody:
    """A resource type association."""
    body = _mapping(body, "resource type association")
    _unknown(body, ASSOCIATION_KEYS, "resource type association")
    return AssociationBody(name(body.get("name"), "resource type name"),
                           _optional_text(body, "prefix", NAME_MAX),
                           _optional_text(body, "properties_target", NAME_MAX))
