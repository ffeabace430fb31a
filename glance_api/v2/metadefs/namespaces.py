"""Handlers of /v2/metadefs/namespaces[/{ns}] and deleting all of one kind."""

from __future__ import annotations

from urllib.parse import quote

import flask

from glance_api.v2.metadefs import calls
from glance_api.v2.metadefs import views

LIST_PARAMS = ("limit", "marker", "visibility", "resource_types", "sort_key", "sort_dir")
# Read-only in a namespace document, or (on PUT) changed through their own URLs.
NOT_UPDATED = ("objects", "properties", "tags", "resource_type_associations")


def routes(bp: flask.Blueprint) -> None:
    """Mount the namespace handlers on ``bp``."""
    calls.route(bp, views.NAMESPACES, index, "GET")
    calls.route(bp, views.NAMESPACES, create, "POST")
    calls.route(bp, views.NAMESPACES + "/<ns>", show, "GET")
    calls.route(bp, views.NAMESPACES + "/<ns>", update, "PUT")
    calls.route(bp, views.NAMESPACES + "/<ns>", delete, "DELETE")
    calls.route(bp, views.NAMESPACES + "/<ns>/<any(objects, properties, tags):kind>",
                delete_all, "DELETE")


def index():
    calls.enforce("get_metadef_namespaces")
    args = flask.request.args
    params = {k: args[k] for k in LIST_PARAMS if args.get(k)}
    page = calls.registry("GET", "/namespaces", params=params)
    unmarked = {k: v for k, v in params.items() if k != "marker"}
    out = {"namespaces": [views.namespace(n) for n in page["namespaces"]],
           "first": views.link(views.NAMESPACES, unmarked),
           "schema": views.SCHEMAS + "namespaces"}
    if page.get("next_marker"):
        out["next"] = views.link(views.NAMESPACES,
                                 {**unmarked, "marker": page["next_marker"]})
    return out


def create():
    body = calls.object_body()
    target = {"namespace": body.get("namespace"),
              "visibility": body.get("visibility", "private"),
              "protected": body.get("protected", False),
              "owner": body.get("owner") or calls.ctx().project_id}
    calls.enforce("add_metadef_namespace", target)
    doc = calls.registry("POST", "/namespaces", body)
    return calls.created(views.namespace(doc, full=True),
                         views.self_link(quote(doc["namespace"], safe=":")))


def show(ns):
    doc = calls.namespace(ns)
    return views.namespace(doc, full=True,
                           resource_type_name=flask.request.args.get("resource_type"))


def update(ns):
    body = calls.object_body(*NOT_UPDATED)
    calls.namespace(ns, "modify_metadef_namespace")
    doc = calls.registry("PUT", calls.ns_path(ns), body)
    return views.namespace(doc)


def delete(ns):
    calls.namespace(ns, "delete_metadef_namespace")
    calls.registry("DELETE", calls.ns_path(ns))
    return "", 204


def delete_all(ns, kind):
    # Glance guards deleting every object or property with the namespace's
    # own delete rule, and every tag with delete_metadef_tags.
    rule = "delete_metadef_tags" if kind == "tags" else "delete_metadef_namespace"
    calls.namespace(ns, rule)
    calls.registry("DELETE", calls.ns_path(ns, kind))
    return "", 204
