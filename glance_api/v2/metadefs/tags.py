"""Handlers of /v2/metadefs/namespaces/{ns}/tags[/{name}]."""

from __future__ import annotations

import flask

from glance_api.v2.metadefs import calls
from glance_api.v2.metadefs import views

PATH = views.NAMESPACES + "/<ns>/tags"
LIST_PARAMS = ("limit", "marker", "sort_key", "sort_dir")


def routes(bp: flask.Blueprint) -> None:
    """Mount the tag handlers on ``bp``."""
    calls.route(bp, PATH, index, "GET")
    calls.route(bp, PATH, create_many, "POST")
    calls.route(bp, PATH + "/<name>", create, "POST")
    calls.route(bp, PATH + "/<name>", show, "GET")
    calls.route(bp, PATH + "/<name>", update, "PUT")
    calls.route(bp, PATH + "/<name>", delete, "DELETE")


def index(ns):
    calls.namespace(ns, "get_metadef_tags")
    args = flask.request.args
    params = {k: args[k] for k in LIST_PARAMS if args.get(k)}
    found = calls.registry("GET", calls.ns_path(ns, "tags"), params=params)
    return {"tags": [views.tag(t) for t in found["tags"]]}


def create_many(ns):
    """Replace the namespace's tags, or add to them with X-Openstack-Append: true."""
    body = calls.object_body()
    append = flask.request.headers.get("X-Openstack-Append", "").lower() == "true"
    calls.namespace(ns, "add_metadef_tags")
    found = calls.registry("POST", calls.ns_path(ns, "tags"),
                           {"tags": body.get("tags"), "append": append})
    return calls.created({"tags": [{"name": t["name"]} for t in found["tags"]]})


def create(ns, name):
    calls.namespace(ns, "add_metadef_tag")
    return calls.created(views.tag(calls.registry("POST", calls.ns_path(ns, "tags", name))))


def show(ns, name):
    calls.namespace(ns, "get_metadef_tag")
    return views.tag(calls.registry("GET", calls.ns_path(ns, "tags", name)))


def update(ns, name):
    body = calls.object_body()
    calls.namespace(ns, "modify_metadef_tag")
    return views.tag(calls.registry("PUT", calls.ns_path(ns, "tags", name), body))


def delete(ns, name):
    calls.namespace(ns, "delete_metadef_tag")
    calls.registry("DELETE", calls.ns_path(ns, "tags", name))
    return "", 204
