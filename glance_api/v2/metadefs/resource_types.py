"""Handlers of /v2/metadefs/resource_types and a namespace's associations."""

from __future__ import annotations

import flask

from glance_api.v2.metadefs import calls
from glance_api.v2.metadefs import views

PATH = views.NAMESPACES + "/<ns>/resource_types"


def routes(bp: flask.Blueprint) -> None:
    """Mount the resource type handlers on ``bp``."""
    calls.route(bp, "/v2/metadefs/resource_types", index, "GET")
    calls.route(bp, PATH, associations, "GET")
    calls.route(bp, PATH, associate, "POST")
    calls.route(bp, PATH + "/<name>", dissociate, "DELETE")


def index():
    calls.enforce("list_metadef_resource_types")
    found = calls.registry("GET", "/resource_types")
    return {"resource_types": [views.resource_type(r) for r in found["resource_types"]]}


def associations(ns):
    calls.namespace(ns, "get_metadef_resource_type")
    found = calls.registry("GET", calls.ns_path(ns, "resource_types"))
    return {"resource_type_associations": [
        views.association(a) for a in found["resource_type_associations"]]}


def associate(ns):
    body = calls.object_body()
    calls.namespace(ns, "add_metadef_resource_type_association")
    doc = calls.registry("POST", calls.ns_path(ns, "resource_types"), body)
    return calls.created(views.association(doc))


def dissociate(ns, name):
    calls.namespace(ns, "remove_metadef_resource_type_association")
    calls.registry("DELETE", calls.ns_path(ns, "resource_types", name))
    return "", 204
