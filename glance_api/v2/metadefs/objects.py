"""Handlers of /v2/metadefs/namespaces/{ns}/objects[/{name}]."""

from __future__ import annotations

import flask

from glance_api.v2.metadefs import calls
from glance_api.v2.metadefs import views

PATH = views.NAMESPACES + "/<ns>/objects"


def routes(bp: flask.Blueprint) -> None:
    """Mount the object handlers on ``bp``."""
    calls.route(bp, PATH, index, "GET")
    calls.route(bp, PATH, create, "POST")
    calls.route(bp, PATH + "/<name>", show, "GET")
    calls.route(bp, PATH + "/<name>", update, "PUT")
    calls.route(bp, PATH + "/<name>", delete, "DELETE")


def index(ns):
    calls.namespace(ns, "get_metadef_objects")
    found = calls.registry("GET", calls.ns_path(ns, "objects"))
    return {"objects": [views.object_(ns, o) for o in found["objects"]],
            "schema": views.SCHEMAS + "objects"}


def create(ns):
    body = calls.object_body()
    calls.namespace(ns, "add_metadef_object")
    doc = calls.registry("POST", calls.ns_path(ns, "objects"), body)
    return calls.created(views.object_(ns, doc))


def show(ns, name):
    calls.namespace(ns, "get_metadef_object")
    return views.object_(ns, calls.registry("GET", calls.ns_path(ns, "objects", name)))


def update(ns, name):
    body = calls.object_body()
    calls.namespace(ns, "modify_metadef_object")
    doc = calls.registry("PUT", calls.ns_path(ns, "objects", name), body)
    return views.object_(ns, doc)


def delete(ns, name):
    calls.namespace(ns, "delete_metadef_object")
    calls.registry("DELETE", calls.ns_path(ns, "objects", name))
    return "", 204
