"""Glance's metadata definitions catalog -> this registry's, by name.

Glance numbers its catalog rows; those numbers mean nothing outside its
database, so everything is matched by name: a namespace by its name,
its objects, properties and tags by (namespace, name), a resource type
by its name, an association by (namespace, resource type). Glance's
catalog wins: a namespace present in both (say, loaded here from the
same shipped files) is made equal to Glance's, and a definition Glance no
longer has is removed from that namespace (catalog rows are not
soft-deleted). Namespaces only this registry has are left alone. The
catalog is small: it is synced in one transaction.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from glance_registry.db import database
from glance_registry.glance_import.mapping import canonical_json
from glance_registry.glance_import.source import GlanceDatabase
from glance_registry.glance_import.source import to_datetime
from glance_registry.metadef_models import MetadefObject
from glance_registry.metadef_models import MetadefProperty
from glance_registry.metadef_models import MetadefTag
from glance_registry.metadef_models import Namespace
from glance_registry.metadef_models import NamespaceResourceType
from glance_registry.metadef_models import ResourceType


@dataclasses.dataclass
class MetadefCounts:
    """Namespaces created, updated and unchanged, and resource types created."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    resource_types_created: int = 0


def sync_metadefs(source: GlanceDatabase, apply: bool) -> MetadefCounts:
    """Make the registry's catalog hold Glance's; with ``apply`` false, only tell."""
    counts = MetadefCounts()
    if not source.schema.has("metadef_namespaces"):
        return counts
    types = {row["id"]: row for row in source.table("metadef_resource_types")}
    children = {table: _by_namespace(source.table(table)) for table in (
        "metadef_objects", "metadef_properties", "metadef_tags",
        "metadef_namespace_resource_types")}
    with database.atomic() as txn:
        type_ids = {}
        for row in types.values():
            found, created = _resource_type(row)
            type_ids[row["id"]] = found
            counts.resource_types_created += created
        for row in source.table("metadef_namespaces"):
            with database.atomic():
                outcome = _namespace(row, {t: c.get(row["id"], []) for t, c in
                                           children.items()}, type_ids)
            setattr(counts, outcome, getattr(counts, outcome) + 1)
        if not apply:
            txn.rollback()
    return counts


def _by_namespace(rows: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["namespace_id"], []).append(row)
    return grouped


def _stamps(row: dict[str, Any]) -> dict[str, Any]:
    created = to_datetime(row.get("created_at"))
    return {"created_at": created,
            "updated_at": to_datetime(row.get("updated_at")) or created}


def _resource_type(row: dict[str, Any]) -> tuple[ResourceType, int]:
    found = ResourceType.get_or_none(ResourceType.name == row["name"])
    if found is not None:
        return found, 0
    return ResourceType.create(name=row["name"], protected=bool(row.get("protected")),
                               **_stamps(row)), 1


def _namespace(row: dict[str, Any], children: dict[str, list[dict[str, Any]]],
               type_ids: dict[Any, ResourceType]) -> str:
    columns = {"display_name": row.get("display_name"),
               "description": row.get("description"),
               "visibility": row.get("visibility") or "private",
               "protected": bool(row.get("protected") or False),
               "owner": row.get("owner"), **_stamps(row)}
    namespace = Namespace.get_or_none(Namespace.namespace == row["namespace"])
    if namespace is None:
        namespace = Namespace.create(namespace=row["namespace"], **columns)
        created = True
    else:
        created = False
    changed = _update(namespace, columns)
    for model, table, schema in ((MetadefObject, "metadef_objects", _object),
                                 (MetadefProperty, "metadef_properties", _property),
                                 (MetadefTag, "metadef_tags", lambda r: {})):
        wanted = {r["name"]: {**schema(r), **_stamps(r)} for r in children[table]}
        changed = _sync_named(namespace, model, wanted) or changed
    changed = _sync_associations(namespace, children["metadef_namespace_resource_types"],
                                 type_ids) or changed
    if created:
        return "created"
    return "updated" if changed else "unchanged"


def _object(row: dict[str, Any]) -> dict[str, Any]:
    return {"description": row.get("description"),
            "required": canonical_json(_json(row.get("required"), [])),
            "json_schema": canonical_json(_json(row.get("json_schema"), {}))}


def _property(row: dict[str, Any]) -> dict[str, Any]:
    return {"json_schema": canonical_json(_json(row.get("json_schema"), {}))}


def _json(text: Any, default: Any) -> Any:
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def _update(row, columns: dict[str, Any]) -> bool:
    diff = {k: v for k, v in columns.items() if getattr(row, k) != v}
    if diff:
        type(row).update(**diff).where(type(row).id == row.id).execute()
    return bool(diff)


def _sync_named(namespace: Namespace, model, wanted: dict[str, dict[str, Any]]) -> bool:
    current = {row.name: row for row in model.select().where(model.namespace == namespace)}
    changed = False
    for name, columns in wanted.items():
        row = current.get(name)
        if row is None:
            model.create(namespace=namespace, name=name, **columns)
            changed = True
        else:
            changed = _update(row, columns) or changed
    gone = [row.id for name, row in current.items() if name not in wanted]
    if gone:
        model.delete().where(model.id.in_(gone)).execute()
        changed = True
    return changed


def _sync_associations(namespace: Namespace, rows: list[dict[str, Any]],
                       type_ids: dict[Any, ResourceType]) -> bool:
    model = NamespaceResourceType
    current = {row.resource_type_id: row
               for row in model.select().where(model.namespace == namespace)}
    changed = False
    wanted_types = set()
    for row in rows:
        rtype = type_ids.get(row["resource_type_id"])
        if rtype is None:
            continue
        wanted_types.add(rtype.id)
        columns = {"prefix": row.get("prefix"),
                   "properties_target": row.get("properties_target"), **_stamps(row)}
        existing = current.get(rtype.id)
        if existing is None:
            model.insert(namespace=namespace, resource_type=rtype, **columns).execute()
            changed = True
            continue
        diff = {k: v for k, v in columns.items() if getattr(existing, k) != v}
        if diff:
            (model.update(**diff).where(model.namespace == namespace,
                                        model.resource_type == rtype.id).execute())
            changed = True
    for type_id in set(current) - wanted_types:
        model.delete().where(model.namespace == namespace,
                             model.resource_type == type_id).execute()
        changed = True
    return changed
