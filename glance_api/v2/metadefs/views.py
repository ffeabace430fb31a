"""Registry catalog documents -> Images API v2 JSON. Pure functions.

Glance leaves out attributes that are unset (null) and collections that are
empty; clients validate documents against the schemas, where those
attributes are strings, so a null would not pass.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

SCHEMAS = "/v2/schemas/metadefs/"
NAMESPACES = "/v2/metadefs/namespaces"


def timestamp(value: str | None) -> str | None:
    """Registry time -> ``YYYY-MM-DDTHH:MM:SSZ``."""
    return value[:19] + "Z" if value else None


def _set(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if v is not None}


def _times(doc: dict) -> dict:
    return {"created_at": timestamp(doc.get("created_at")),
            "updated_at": timestamp(doc.get("updated_at"))}


def self_link(namespace: str, *rest: str) -> str:
    """The public path of a namespace or something in it (names as given)."""
    return "/".join([NAMESPACES, namespace, *rest])


def association(doc: dict) -> dict[str, Any]:
    """A resource type association."""
    return _set({"name": doc["name"], "prefix": doc.get("prefix"),
                 "properties_target": doc.get("properties_target"), **_times(doc)})


def resource_type(doc: dict) -> dict[str, Any]:
    """A resource type of the list."""
    return _set({"name": doc["name"], **_times(doc)})


def property_(doc: dict, with_name: bool = True) -> dict[str, Any]:
    """A property definition; in a ``{name: definition}`` map, without name."""
    out = _set(dict(doc))
    if not with_name:
        out.pop("name", None)
    return out


def properties(docs: dict[str, dict], prefix: str = "") -> dict[str, dict]:
    """A ``{name: definition}`` map, names prefixed with ``prefix``."""
    return {prefix + name: property_(doc, with_name=False) for name, doc in docs.items()}


def object_(namespace: str, doc: dict, prefix: str = "") -> dict[str, Any]:
    """An object definition."""
    return _set({"name": doc["name"], "description": doc.get("description"),
                 "required": doc.get("required") or [],
                 "properties": properties(doc.get("properties") or {}, prefix),
                 "schema": SCHEMAS + "object",
                 "self": self_link(namespace, "objects", doc["name"]),
                 **_times(doc)})


def tag(doc: dict) -> dict[str, Any]:
    """A tag."""
    return _set({"name": doc["name"], **_times(doc)})


def prefix_for(doc: dict, resource_type_name: str | None) -> str:
    """The prefix a namespace's association with that resource type sets, or ''."""
    for assoc in doc.get("resource_type_associations") or []:
        if assoc["name"] == resource_type_name:
            return assoc.get("prefix") or ""
    return ""


def namespace(doc: dict, full: bool = False, resource_type_name: str | None = None
              ) -> dict[str, Any]:
    """A namespace; ``full`` adds what it defines, property names prefixed
    for ``resource_type_name`` when the namespace is associated with it."""
    name = doc["namespace"]
    out = _set({"namespace": name, "display_name": doc.get("display_name"),
                "description": doc.get("description"), "visibility": doc["visibility"],
                "protected": doc["protected"], "owner": doc.get("owner"),
                "schema": SCHEMAS + "namespace", "self": self_link(name),
                **_times(doc)})
    associations = [association(a) for a in doc.get("resource_type_associations") or []]
    if associations:
        out["resource_type_associations"] = associations
    if full:
        prefix = prefix_for(doc, resource_type_name)
        if doc.get("properties"):
            out["properties"] = properties(doc["properties"], prefix)
        if doc.get("objects"):
            out["objects"] = [object_(name, o, prefix) for o in doc["objects"]]
        if doc.get("tags"):
            out["tags"] = [tag(t) for t in doc["tags"]]
    return out


def link(path: str, params: dict[str, str]) -> str:
    """``path`` with ``params`` as its query string."""
    if not params:
        return path
    return path + "?" + "&".join("%s=%s" % (k, quote(v, safe=",:"))
                                 for k, v in params.items())
