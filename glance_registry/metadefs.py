"""The metadata definitions catalog's rules. Called by the HTTP layer, the
loader (``metadef_files``) and tests.

What glance-api's policy decides (by default: only admins write) is decided
before it calls. The registry keeps:

- visibility, in one query-building function (``visible``): admins see every
  namespace, others public ones and their own project's; a namespace the
  caller cannot see, and everything in it, is NotFound (404);
- ownership integrity: a new namespace belongs to the caller's project
  unless an admin names another owner; only admins change an owner;
- data integrity: names unique (Conflict, 409); nothing in a protected
  namespace, nor the namespace itself, is deleted (Forbidden, 403).
"""

from __future__ import annotations

import json
from typing import Any
from typing import Mapping

import peewee

from glance_common.context import RequestContext
from glance_common.timestamps import to_json
from glance_common.timestamps import utcnow
from glance_registry import metadef_validation as parse
from glance_registry.db import database
from glance_registry.errors import BadRequest
from glance_registry.errors import Conflict
from glance_registry.errors import Forbidden
from glance_registry.errors import NotFound
from glance_registry.metadef_models import MetadefObject
from glance_registry.metadef_models import MetadefProperty
from glance_registry.metadef_models import MetadefTag
from glance_registry.metadef_models import Namespace
from glance_registry.metadef_models import NamespaceResourceType
from glance_registry.metadef_models import ResourceType

NAMESPACE_SORT_KEYS = ("namespace", "created_at", "updated_at")
TAG_SORT_KEYS = ("name", "created_at", "updated_at")


# --- who sees what -------------------------------------------------------

def visible(ctx: RequestContext) -> peewee.Expression:
    """The condition on Namespace that selects what ``ctx`` may see."""
    if ctx.is_admin:
        return peewee.SQL("1 = 1")
    condition = Namespace.visibility == "public"
    if ctx.project_id:
        condition |= Namespace.owner == ctx.project_id
    return condition


def find_namespace(ctx: RequestContext, name: str) -> Namespace:
    """The namespace if ``ctx`` may see it, else NotFound."""
    found = Namespace.get_or_none((Namespace.namespace == name) & visible(ctx))
    if found is None:
        raise NotFound("Metadata definition namespace=%s was not found." % name)
    return found


def _unprotected(ctx: RequestContext, name: str, what: str) -> Namespace:
    ns = find_namespace(ctx, name)
    if ns.protected:
        raise Forbidden("Namespace %s is protected: %s cannot be deleted; "
                        "set protected to false first." % (name, what))
    return ns


# --- JSON ---------------------------------------------------------------

def _times(row) -> dict[str, str | None]:
    return {"created_at": to_json(row.created_at), "updated_at": to_json(row.updated_at)}


def namespace_json(ns: Namespace, associations: list[dict]) -> dict[str, Any]:
    """A namespace's own fields and its resource type associations."""
    return {"namespace": ns.namespace, "display_name": ns.display_name,
            "description": ns.description, "visibility": ns.visibility,
            "protected": ns.protected, "owner": ns.owner, **_times(ns),
            "resource_type_associations": associations}


def object_json(obj: MetadefObject) -> dict[str, Any]:
    """An object definition."""
    return {"name": obj.name, "description": obj.description,
            "required": json.loads(obj.required),
            "properties": json.loads(obj.json_schema), **_times(obj)}


def property_json(prop: MetadefProperty) -> dict[str, Any]:
    """A property definition: its name and its schema."""
    return {"name": prop.name, **json.loads(prop.json_schema)}


def tag_json(tag: MetadefTag) -> dict[str, Any]:
    """A tag."""
    return {"name": tag.name, **_times(tag)}


def _associations(namespace_ids: list[int]) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = {}
    if not namespace_ids:
        return found
    rows = (NamespaceResourceType
            .select(NamespaceResourceType, ResourceType.name)
            .join(ResourceType)
            .where(NamespaceResourceType.namespace.in_(namespace_ids))
            .order_by(ResourceType.name))
    for row in rows:
        found.setdefault(row.namespace_id, []).append(
            {"name": row.resource_type.name, "prefix": row.prefix,
             "properties_target": row.properties_target, **_times(row)})
    return found


def _full(ns: Namespace) -> dict[str, Any]:
    doc = namespace_json(ns, _associations([ns.id]).get(ns.id, []))
    doc["objects"] = [object_json(o) for o in
                      MetadefObject.select().where(MetadefObject.namespace == ns)
                      .order_by(MetadefObject.id)]
    doc["properties"] = {p.name: property_json(p) for p in
                         MetadefProperty.select().where(MetadefProperty.namespace == ns)
                         .order_by(MetadefProperty.name)}
    doc["tags"] = [tag_json(t) for t in
                   MetadefTag.select().where(MetadefTag.namespace == ns)
                   .order_by(MetadefTag.id)]
    return doc


# --- paging ---------------------------------------------------------------

def _page_args(args: Mapping[str, str], sort_keys: tuple, limit_default: int,
               limit_max: int) -> tuple[int, str, str]:
    try:
        limit = int(args.get("limit", limit_default))
    except ValueError as exc:
        raise BadRequest("limit must be an integer.") from exc
    if limit < 0:
        raise BadRequest("limit must be 0 or more.")
    sort_key = args.get("sort_key", "created_at")
    if sort_key not in sort_keys:
        raise BadRequest("sort_key must be one of %s." % ", ".join(sort_keys))
    sort_dir = args.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest("sort_dir must be asc or desc.")
    return min(limit, limit_max), sort_key, sort_dir


def _paged(query, model, key: str, direction: str, limit: int, marker=None):
    field = getattr(model, key)
    ascending = direction == "asc"
    if marker is not None:
        value = getattr(marker, key)
        after = (field > value) if ascending else (field < value)
        tie = (model.id > marker.id) if ascending else (model.id < marker.id)
        query = query.where(after | ((field == value) & tie))
    order = (field.asc(), model.id.asc()) if ascending else (field.desc(), model.id.desc())
    return query.order_by(*order).limit(limit)


# --- namespaces -------------------------------------------------------------

def list_namespaces(ctx: RequestContext, args: Mapping[str, str],
                    limit_default: int, limit_max: int) -> dict[str, Any]:
    """One page of the namespaces ``ctx`` sees, filtered by visibility and
    resource_types (comma-separated, any of them), sorted, after ``marker``:
    ``{"namespaces": [...], "next_marker": name or None}``, next_marker set
    when more follow."""
    limit, key, direction = _page_args(args, NAMESPACE_SORT_KEYS, limit_default,
                                       limit_max)
    query = Namespace.select().where(visible(ctx))
    if args.get("visibility"):
        if args["visibility"] not in parse.VISIBILITIES:
            raise BadRequest("visibility must be public or private.")
        query = query.where(Namespace.visibility == args["visibility"])
    if args.get("resource_types"):
        names = [n.strip() for n in args["resource_types"].split(",") if n.strip()]
        associated = (NamespaceResourceType.select(NamespaceResourceType.namespace)
                      .join(ResourceType).where(ResourceType.name.in_(names)))
        query = query.where(Namespace.id.in_(associated))
    marker = find_namespace(ctx, args["marker"]) if args.get("marker") else None
    page = list(_paged(query, Namespace, key, direction, limit + 1, marker))
    more = len(page) > limit
    page = page[:limit]
    associations = _associations([ns.id for ns in page])
    return {"namespaces": [namespace_json(ns, associations.get(ns.id, [])) for ns in page],
            "next_marker": page[-1].namespace if more and page else None}


def get_namespace(ctx: RequestContext, name: str) -> dict[str, Any]:
    """A visible namespace with everything it defines."""
    return _full(find_namespace(ctx, name))


def create_namespace(ctx: RequestContext, body: Any) -> dict[str, Any]:
    """Create a namespace (with the objects, properties, tags and associations
    the body names); Conflict when the name is taken."""
    parsed = parse.namespace(body, creating=True, is_admin=ctx.is_admin)
    columns = dict(parsed.columns)
    columns.setdefault("owner", ctx.project_id)
    now = utcnow()
    try:
        with database.atomic():
            _check_free(columns["namespace"])
            ns = Namespace.create(created_at=now, updated_at=now, **columns)
            for obj in parsed.objects:
                _insert_object(ns, obj, now)
            for prop_name, schema in parsed.properties.items():
                MetadefProperty.create(namespace=ns, name=prop_name,
                                       json_schema=json.dumps(schema),
                                       created_at=now, updated_at=now)
            for tag_name in parsed.tags:
                MetadefTag.create(namespace=ns, name=tag_name, created_at=now,
                                  updated_at=now)
            for assoc in parsed.associations:
                _associate(ns, assoc, now)
    except peewee.IntegrityError as exc:
        raise Conflict("A namespace, or a definition within it, with that name "
                       "already exists.") from exc
    return _full(ns)


def _check_free(name: str, keep: Namespace | None = None) -> None:
    taken = Namespace.get_or_none(Namespace.namespace == name)
    if taken is not None and (keep is None or taken.id != keep.id):
        raise Conflict("Namespace %s already exists." % name)


def update_namespace(ctx: RequestContext, name: str, body: Any) -> dict[str, Any]:
    """Replace a namespace's own fields (missing ones take their defaults, as
    in Glance); what it defines is unchanged. Renaming onto a taken name is
    Conflict; only admins change the owner."""
    parsed = parse.namespace(body, creating=False, is_admin=ctx.is_admin)
    try:
        with database.atomic():
            ns = find_namespace(ctx, name)
            _check_free(parsed.columns["namespace"], keep=ns)
            for column, value in parsed.columns.items():
                setattr(ns, column, value)
            ns.updated_at = utcnow()
            ns.save()
    except peewee.IntegrityError as exc:
        raise Conflict("Namespace %s already exists." % parsed.columns["namespace"]) from exc
    return get_namespace(ctx, ns.namespace)


def delete_namespace(ctx: RequestContext, name: str) -> None:
    """Delete an unprotected namespace and everything it defines."""
    with database.atomic():
        ns = _unprotected(ctx, name, "the namespace")
        for model in (MetadefObject, MetadefProperty, MetadefTag, NamespaceResourceType):
            model.delete().where(model.namespace == ns).execute()
        ns.delete_instance()


def delete_children(ctx: RequestContext, name: str, kind: str) -> None:
    """Delete every object, property or tag (``kind``) of an unprotected namespace."""
    model = {"objects": MetadefObject, "properties": MetadefProperty,
             "tags": MetadefTag}[kind]
    with database.atomic():
        ns = _unprotected(ctx, name, "its " + kind)
        model.delete().where(model.namespace == ns).execute()


# --- objects --------------------------------------------------------------

def _insert_object(ns: Namespace, obj: parse.ObjectBody, now) -> MetadefObject:
    return MetadefObject.create(namespace=ns, name=obj.name, description=obj.description,
                                required=json.dumps(obj.required),
                                json_schema=json.dumps(obj.properties),
                                created_at=now, updated_at=now)


def _find_child(model, ns: Namespace, child: str, what: str):
    found = model.get_or_none((model.namespace == ns) & (model.name == child))
    if found is None:
        raise NotFound("Metadata definition %s=%s was not found in namespace=%s."
                       % (what, child, ns.namespace))
    return found


def _check_child_free(model, ns: Namespace, child: str, what: str, keep=None) -> None:
    taken = model.get_or_none((model.namespace == ns) & (model.name == child))
    if taken is not None and (keep is None or taken.id != keep.id):
        raise Conflict("A metadata definition %s with name=%s already exists in "
                       "namespace=%s." % (what, child, ns.namespace))


def list_objects(ctx: RequestContext, name: str) -> list[dict[str, Any]]:
    """The objects of a visible namespace, oldest first."""
    ns = find_namespace(ctx, name)
    return [object_json(o) for o in MetadefObject.select()
            .where(MetadefObject.namespace == ns).order_by(MetadefObject.id)]


def get_object(ctx: RequestContext, name: str, object_name: str) -> dict[str, Any]:
    """One object of a visible namespace."""
    return object_json(_find_child(MetadefObject, find_namespace(ctx, name),
                                   object_name, "object"))


def create_object(ctx: RequestContext, name: str, body: Any) -> dict[str, Any]:
    """Add an object; Conflict when its name is taken in the namespace."""
    obj = parse.object_(body)
    try:
        with database.atomic():
            ns = find_namespace(ctx, name)
            _check_child_free(MetadefObject, ns, obj.name, "object")
            row = _insert_object(ns, obj, utcnow())
    except peewee.IntegrityError as exc:
        raise Conflict("Object %s already exists." % obj.name) from exc
    return object_json(row)


def update_object(ctx: RequestContext, name: str, object_name: str,
                  body: Any) -> dict[str, Any]:
    """Replace an object's definition (renaming onto a taken name: Conflict)."""
    obj = parse.object_(body)
    try:
        with database.atomic():
            ns = find_namespace(ctx, name)
            row = _find_child(MetadefObject, ns, object_name, "object")
            _check_child_free(MetadefObject, ns, obj.name, "object", keep=row)
            row.name, row.description = obj.name, obj.description
            row.required = json.dumps(obj.required)
            row.json_schema = json.dumps(obj.properties)
            row.updated_at = utcnow()
            row.save()
    except peewee.IntegrityError as exc:
        raise Conflict("Object %s already exists." % obj.name) from exc
    return object_json(row)


def delete_object(ctx: RequestContext, name: str, object_name: str) -> None:
    """Delete an object of an unprotected namespace."""
    with database.atomic():
        ns = _unprotected(ctx, name, "its objects")
        _find_child(MetadefObject, ns, object_name, "object").delete_instance()


# --- properties ------------------------------------------------------------

def list_properties(ctx: RequestContext, name: str) -> dict[str, dict]:
    """The property definitions of a visible namespace, by name."""
    ns = find_namespace(ctx, name)
    return {p.name: property_json(p) for p in MetadefProperty.select()
            .where(MetadefProperty.namespace == ns).order_by(MetadefProperty.name)}


def get_property(ctx: RequestContext, name: str, property_name: str) -> dict[str, Any]:
    """One property definition of a visible namespace."""
    return property_json(_find_child(MetadefProperty, find_namespace(ctx, name),
                                     property_name, "property"))


def create_property(ctx: RequestContext, name: str, body: Any) -> dict[str, Any]:
    """Add a property definition; Conflict when its name is taken."""
    prop_name, schema = parse.property_(body)
    now = utcnow()
    try:
        with database.atomic():
            ns = find_namespace(ctx, name)
            _check_child_free(MetadefProperty, ns, prop_name, "property")
            row = MetadefProperty.create(namespace=ns, name=prop_name,
                                         json_schema=json.dumps(schema),
                                         created_at=now, updated_at=now)
    except peewee.IntegrityError as exc:
        raise Conflict("Property %s already exists." % prop_name) from exc
    return property_json(row)


def update_property(ctx: RequestContext, name: str, property_name: str,
                    body: Any) -> dict[str, Any]:
    """Replace a property definition (renaming onto a taken name: Conflict)."""
    prop_name, schema = parse.property_(body)
    try:
        with database.atomic():
            ns = find_namespace(ctx, name)
            row = _find_child(MetadefProperty, ns, property_name, "property")
            _check_child_free(MetadefProperty, ns, prop_name, "property", keep=row)
            row.name, row.json_schema = prop_name, json.dumps(schema)
            row.updated_at = utcnow()
            row.save()
    except peewee.IntegrityError as exc:
        raise Conflict("Property %s already exists." % prop_name) from exc
    return property_json(row)


def delete_property(ctx: RequestContext, name: str, property_name: str) -> None:
    """Delete a property definition of an unprotected namespace."""
    with database.atomic():
        ns = _unprotected(ctx, name, "its properties")
        _find_child(MetadefProperty, ns, property_name, "property").delete_instance()


# --- tags -------------------------------------------------------------------

def list_tags(ctx: RequestContext, name: str, args: Mapping[str, str],
              limit_default: int, limit_max: int) -> list[dict[str, Any]]:
    """One page of a visible namespace's tags (sort by name, created_at or
    updated_at; marker: a tag name)."""
    limit, key, direction = _page_args(args, TAG_SORT_KEYS, limit_default, limit_max)
    ns = find_namespace(ctx, name)
    marker = None
    if args.get("marker"):
        marker = _find_child(MetadefTag, ns, args["marker"], "tag")
    query = MetadefTag.select().where(MetadefTag.namespace == ns)
    return [tag_json(t) for t in _paged(query, MetadefTag, key, direction, limit, marker)]


def get_tag(ctx: RequestContext, name: str, tag_name: str) -> dict[str, Any]:
    """One tag of a visible namespace."""
    return tag_json(_find_child(MetadefTag, find_namespace(ctx, name), tag_name, "tag"))


def create_tag(ctx: RequestContext, name: str, tag_name: str) -> dict[str, Any]:
    """Add one tag; Conflict when the namespace has it already."""
    tag_name = parse.name(tag_name, "tag name")
    now = utcnow()
    try:
        with database.atomic():
            ns = find_namespace(ctx, name)
            _check_child_free(MetadefTag, ns, tag_name, "tag")
            row = MetadefTag.create(namespace=ns, name=tag_name, created_at=now,
                                    updated_at=now)
    except peewee.IntegrityError as exc:
        raise Conflict("Tag %s already exists." % tag_name) from exc
    return tag_json(row)


def create_tags(ctx: RequestContext, name: str, body: Any,
                append: bool = False) -> list[dict[str, Any]]:
    """Set a namespace's tags to ``{"tags": [{"name"}...]}``, or add them with
    ``append``; a name twice in the body, or (appending) one the namespace
    has, is Conflict. Replacing an unprotected namespace's tags only."""
    if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
        raise BadRequest('Expected {"tags": [{"name": ...}, ...]}.')
    names = [parse.tag(t) for t in body["tags"]]
    if len(set(names)) != len(names):
        raise Conflict("A tag name appears more than once in the request.")
    now = utcnow()
    try:
        with database.atomic():
            ns = find_namespace(ctx, name)
            if append:
                for tag_name in names:
                    _check_child_free(MetadefTag, ns, tag_name, "tag")
            else:
                MetadefTag.delete().where(MetadefTag.namespace == ns).execute()
            rows = [MetadefTag.create(namespace=ns, name=n, created_at=now,
                                      updated_at=now) for n in names]
    except peewee.IntegrityError as exc:
        raise Conflict("A tag of that name already exists.") from exc
    return [tag_json(t) for t in rows]


def update_tag(ctx: RequestContext, name: str, tag_name: str, body: Any) -> dict[str, Any]:
    """Rename a tag (onto a taken name: Conflict)."""
    new_name = parse.tag(body)
    try:
        with database.atomic():
            ns = find_namespace(ctx, name)
            row = _find_child(MetadefTag, ns, tag_name, "tag")
            _check_child_free(MetadefTag, ns, new_name, "tag", keep=row)
            row.name, row.updated_at = new_name, utcnow()
            row.save()
    except peewee.IntegrityError as exc:
        raise Conflict("Tag %s already exists." % new_name) from exc
    return tag_json(row)


def delete_tag(ctx: RequestContext, name: str, tag_name: str) -> None:
    """Delete a tag of an unprotected namespace."""
    with database.atomic():
        ns = _unprotected(ctx, name, "its tags")
        _find_child(MetadefTag, ns, tag_name, "tag").delete_instance()


# --- resource types -----------------------------------------------------

def list_resource_types() -> list[dict[str, Any]]:
    """Every resource type, by name (the names are not secret)."""
    return [{"name": rt.name, **_times(rt)}
            for rt in ResourceType.select().order_by(ResourceType.name)]


def list_associations(ctx: RequestContext, name: str) -> list[dict[str, Any]]:
    """The resource types a visible namespace is associated with."""
    ns = find_namespace(ctx, name)
    return _associations([ns.id]).get(ns.id, [])


def _associate(ns: Namespace, assoc: parse.AssociationBody, now) -> dict[str, Any]:
    rtype = ResourceType.get_or_none(ResourceType.name == assoc.name)
    if rtype is None:
        rtype = ResourceType.create(name=assoc.name, created_at=now, updated_at=now)
    elif NamespaceResourceType.get_or_none(
            (NamespaceResourceType.namespace == ns)
            & (NamespaceResourceType.resource_type == rtype)) is not None:
        raise Conflict("Namespace %s is already associated with resource type %s."
                       % (ns.namespace, assoc.name))
    NamespaceResourceType.insert(
        namespace=ns, resource_type=rtype, prefix=assoc.prefix,
        properties_target=assoc.properties_target, created_at=now,
        updated_at=now).execute()
    return {"name": assoc.name, "prefix": assoc.prefix,
            "properties_target": assoc.properties_target,
            "created_at": to_json(now), "updated_at": to_json(now)}


def create_association(ctx: RequestContext, name: str, body: Any) -> dict[str, Any]:
    """Associate a namespace with a resource type, creating the type if new."""
    assoc = parse.association(body)
    try:
        with database.atomic():
            return _associate(find_namespace(ctx, name), assoc, utcnow())
    except peewee.IntegrityError as exc:
        raise Conflict("Namespace %s is already associated with resource type %s."
                       % (name, assoc.name)) from exc


def delete_association(ctx: RequestContext, name: str, type_name: str) -> None:
    """Remove an association of an unprotected namespace."""
    with database.atomic():
        ns = _unprotected(ctx, name, "its resource type associations")
        rtype = ResourceType.get_or_none(ResourceType.name == type_name)
        removed = 0
        if rtype is not None:
            removed = (NamespaceResourceType.delete()
                       .where((NamespaceResourceType.namespace == ns)
                              & (NamespaceResourceType.resource_type == rtype))
                       .execute())
        if not removed:
            raise NotFound("Namespace %s has no association with resource type %s."
                           % (name, type_name))
