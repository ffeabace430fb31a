"""HTTP handlers for /metadefs: the metadata definitions catalog.

Glance-api's policy decided whether the caller may do this before it
called; the registry applies visibility and integrity (glance_registry.metadefs).
Bodies and answers are the bare documents below (no wrapping key);
timestamps as everywhere in the registry.

Namespace JSON: ``namespace, display_name, description, visibility
(public|private), protected, owner, created_at, updated_at,
resource_type_associations [association]``; the full form (show, create,
update) adds ``objects [object], properties {name: property}, tags [tag]``.
Object: ``name, description, required [str], properties {name: property},
created_at, updated_at``. Property: ``name`` plus its schema keys (title and
type required; type one of array boolean integer number object string;
also description default enum items operators minimum maximum minLength
maxLength minItems maxItems pattern readonly uniqueItems additionalItems
required). Tag: ``name, created_at, updated_at``. Association: ``name,
prefix, properties_target, created_at, updated_at``. Names are 1-80
characters. A namespace the caller cannot see (admins: all; others: public
ones and their project's) is 404, as is everything in it.

``GET /metadefs/namespaces`` -> 200 {"namespaces": [namespace], "next_marker"}
    (next_marker: the last name of a full page when more follow, else null);
    visibility (public|private), resource_types (comma-separated: any of
    them), limit (default limit_param_default, capped at api_limit_max),
    marker (a namespace name; 404 unknown), sort_key (namespace created_at
    updated_at; default created_at), sort_dir (asc|desc, default desc); ties
    ordered by insertion. Bad values -> 400.
``POST /metadefs/namespaces`` namespace (may hold objects, properties, tags,
    resource_type_associations) -> 201 full namespace. Owner: the caller's
    project unless an admin names one. Name taken -> 409; unknown keys,
    wrong types, duplicate names within the body -> 400.
``GET /metadefs/namespaces/{ns}`` -> 200 full namespace.
``PUT /metadefs/namespaces/{ns}`` namespace fields -> 200 full namespace.
    Replaces namespace, display_name, description, visibility, protected
    (missing ones take their defaults: null, private, false); what the
    namespace defines is unchanged; owner: admins only. Renaming onto a
    taken name -> 409.
``DELETE /metadefs/namespaces/{ns}`` -> 204, with everything it defines;
    protected -> 403.
``DELETE /metadefs/namespaces/{ns}/objects|properties|tags`` -> 204: all of
    that kind; protected namespace -> 403.
``GET /metadefs/namespaces/{ns}/objects`` -> 200 {"objects": [object]}
``POST /metadefs/namespaces/{ns}/objects`` object -> 201 object; taken -> 409
``GET|PUT|DELETE /metadefs/namespaces/{ns}/objects/{name}`` -> 200 object,
    200 object (replaces it; renaming onto a taken name 409), 204
    (protected namespace 403); unknown -> 404.
``GET /metadefs/namespaces/{ns}/properties`` -> 200 {"properties": {name: property}}
``POST /metadefs/namespaces/{ns}/properties`` property -> 201; taken -> 409
``GET|PUT|DELETE /metadefs/namespaces/{ns}/properties/{name}`` as for objects.
``GET /metadefs/namespaces/{ns}/tags`` -> 200 {"tags": [tag]}
    limit, marker (a tag name; 404 unknown), sort_key (name created_at
    updated_at; default created_at), sort_dir (default desc).
``POST /metadefs/namespaces/{ns}/tags`` {"tags": [{"name"}], "append": bool}
    -> 201 {"tags": [tag]}: replaces every tag (append false, the default)
    or adds these; a name twice in the body, or appending one that exists,
    -> 409.
``POST /metadefs/namespaces/{ns}/tags/{name}`` -> 201 tag; taken -> 409
``GET /metadefs/namespaces/{ns}/tags/{name}`` -> 200 tag
``PUT /metadefs/namespaces/{ns}/tags/{name}`` {"name"} -> 200 tag (rename; 409)
``DELETE /metadefs/namespaces/{ns}/tags/{name}`` -> 204; protected -> 403
``GET /metadefs/resource_types`` -> 200 {"resource_types": [{name,
    created_at, updated_at}]}, every resource type by name.
``GET /metadefs/namespaces/{ns}/resource_types`` -> 200
    {"resource_type_associations": [association]}
``POST /metadefs/namespaces/{ns}/resource_types`` {name, prefix?,
    properties_target?} -> 201 association; creates the resource type when
    new; already associated -> 409.
``DELETE /metadefs/namespaces/{ns}/resource_types/{name}`` -> 204; not
    associated -> 404; protected namespace -> 403.
"""

from __future__ import annotations

import flask

from glance_registry import metadefs
from glance_registry.api.bodies import context
from glance_registry.api.bodies import json_body
from glance_registry.api.settings import Settings

NS = "/metadefs/namespaces/<ns>"


# A table of thin routes, each one call: the complexity counted is routes.
def blueprint(settings: Settings) -> flask.Blueprint:  # noqa: C901
    """The /metadefs resources."""
    bp = flask.Blueprint("metadefs", __name__)
    limits = (settings.limit_default, settings.limit_max)

    @bp.get("/metadefs/namespaces")
    def list_namespaces():
        args = flask.request.args
        return metadefs.list_namespaces(context(), args, *limits)

    @bp.post("/metadefs/namespaces")
    def create_namespace():
        return metadefs.create_namespace(context(), json_body()), 201

    @bp.get(NS)
    def show_namespace(ns):
        return metadefs.get_namespace(context(), ns)

    @bp.put(NS)
    def update_namespace(ns):
        return metadefs.update_namespace(context(), ns, json_body())

    @bp.delete(NS)
    def delete_namespace(ns):
        metadefs.delete_namespace(context(), ns)
        return "", 204

    @bp.delete(NS + "/<any(objects, properties, tags):kind>")
    def delete_children(ns, kind):
        metadefs.delete_children(context(), ns, kind)
        return "", 204

    @bp.get(NS + "/objects")
    def list_objects(ns):
        return {"objects": metadefs.list_objects(context(), ns)}

    @bp.post(NS + "/objects")
    def create_object(ns):
        return metadefs.create_object(context(), ns, json_body()), 201

    @bp.get(NS + "/objects/<name>")
    def show_object(ns, name):
        return metadefs.get_object(context(), ns, name)

    @bp.put(NS + "/objects/<name>")
    def update_object(ns, name):
        return metadefs.update_object(context(), ns, name, json_body())

    @bp.delete(NS + "/objects/<name>")
    def delete_object(ns, name):
        metadefs.delete_object(context(), ns, name)
        return "", 204

    @bp.get(NS + "/properties")
    def list_properties(ns):
        return {"properties": metadefs.list_properties(context(), ns)}

    @bp.post(NS + "/properties")
    def create_property(ns):
        return metadefs.create_property(context(), ns, json_body()), 201

    @bp.get(NS + "/properties/<name>")
    def show_property(ns, name):
        return metadefs.get_property(context(), ns, name)

    @bp.put(NS + "/properties/<name>")
    def update_property(ns, name):
        return metadefs.update_property(context(), ns, name, json_body())

    @bp.delete(NS + "/properties/<name>")
    def delete_property(ns, name):
        metadefs.delete_property(context(), ns, name)
        return "", 204

    @bp.get(NS + "/tags")
    def list_tags(ns):
        args = flask.request.args
        return {"tags": metadefs.list_tags(context(), ns, args, *limits)}

    @bp.post(NS + "/tags")
    def create_tags(ns):
        body = json_body()
        append = isinstance(body, dict) and body.pop("append", False) is True
        return {"tags": metadefs.create_tags(context(), ns, body, append)}, 201

    @bp.post(NS + "/tags/<name>")
    def create_tag(ns, name):
        return metadefs.create_tag(context(), ns, name), 201

    @bp.get(NS + "/tags/<name>")
    def show_tag(ns, name):
        return metadefs.get_tag(context(), ns, name)

    @bp.put(NS + "/tags/<name>")
    def update_tag(ns, name):
        return metadefs.update_tag(context(), ns, name, json_body())

    @bp.delete(NS + "/tags/<name>")
    def delete_tag(ns, name):
        metadefs.delete_tag(context(), ns, name)
        return "", 204

    @bp.get("/metadefs/resource_types")
    def list_resource_types():
        return {"resource_types": metadefs.list_resource_types()}

    @bp.get(NS + "/resource_types")
    def list_associations(ns):
        return {"resource_type_associations": metadefs.list_associations(context(), ns)}

    @bp.post(NS + "/resource_types")
    def create_association(ns):
        return metadefs.create_association(context(), ns, json_body()), 201

    @bp.delete(NS + "/resource_types/<name>")
    def delete_association(ns, name):
        metadefs.delete_association(context(), ns, name)
        return "", 204

    return bp
