"""Handlers of /v2/metadefs/namespaces/{ns}/properties[/{name}]."""

from __future__ import annotations

import flask

from glance_api.exceptions import NotFound
from glance_api.v2.metadefs import calls
from glance_api.v2.metadefs import views

PATH = views.NAMESPACES + "/<ns>/properties"


def routes(bp: flask.Blueprint) -> None:
    """Mount the property handlers on ``bp``."""
    calls.route(bp, PATH, index, "GET")
    calls.route(bp, PATH, create, "POST")
    calls.route(bp, PATH + "/<name>", show, "GET")
    calls.route(bp, PATH + "/<name>", update, "PUT")
    calls.route(bp, PATH + "/<name>", delete, "DELETE")


def index(ns):
    calls.namespace(ns, "get_metadef_properties")
    found = calls.registry("GET", calls.ns_path(ns, "properties"))
    return {"properties": views.properties(found["properties"])}


def create(ns):
    body = calls.object_body()
    calls.namespace(ns, "add_metadef_property")
    doc = calls.registry("POST", calls.ns_path(ns, "properties"), body)
    return calls.created(views.property_(doc))


def show(ns, name):
    namespace = calls.namespace(ns, "get_metadef_property")
    resource_type = flask.request.args.get("resource_type")
    if resource_type:
        # The name as the resource type spells it: strip that type's prefix.
        prefix = views.prefix_for(namespace, resource_type)
        if prefix and not name.startswith(prefix):
            raise NotFound("Property %s does not start with the prefix %s of "
                           "resource type %s." % (name, prefix, resource_type))
        name = name[len(prefix):]
    return views.property_(calls.registry("GET", calls.ns_path(ns, "properties", name)))


def update(ns, name):
    body = calls.object_body()
    calls.namespace(ns, "modify_metadef_property")
    doc = calls.registry("PUT", calls.ns_path(ns, "properties", name), body)
    return views.property_(doc)


def delete(ns, name):
    calls.namespace(ns, "remove_metadef_property")
    calls.registry("DELETE", calls.ns_path(ns, "properties", name))
    return "", 204
