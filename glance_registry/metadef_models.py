"""The metadata definitions catalog's tables, as they stand after migration 0005.

The catalog describes metadata (which keys an image, flavor or volume may
carry, their types and limits); it holds no values of any resource. Unlike
the image tables its rows are not soft-deleted: Glance deletes them for
good, a namespace's name is reusable at once, and ``glance-manage db purge``
has nothing to do here. The schema is created by the migration, never by
``create_tables`` on these classes.
"""

from __future__ import annotations

import peewee

from glance_common.timestamps import utcnow
from glance_registry.db import database


class MetadefModel(peewee.Model):
    """Columns every catalog table has."""

    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        database = database
        legacy_table_names = False


class Namespace(MetadefModel):
    """A named group of definitions; ``namespace`` is its unique name."""

    id = peewee.AutoField()
    namespace = peewee.CharField(max_length=80, unique=True)
    display_name = peewee.CharField(max_length=80, null=True)
    description = peewee.TextField(null=True)
    visibility = peewee.CharField(max_length=32, default="private")
    protected = peewee.BooleanField(default=False)
    owner = peewee.CharField(max_length=255, null=True)

    class Meta:
        table_name = "metadef_namespaces"


class MetadefObject(MetadefModel):
    """A named set of property definitions within a namespace."""

    id = peewee.AutoField()
    namespace = peewee.ForeignKeyField(Namespace, column_name="namespace_id")
    name = peewee.CharField(max_length=80)
    description = peewee.TextField(null=True)
    required = peewee.TextField(default="[]")  # JSON list of property names
    json_schema = peewee.TextField(default="{}")  # JSON {name: property}

    class Meta:
        table_name = "metadef_objects"


class MetadefProperty(MetadefModel):
    """One property definition of a namespace (its JSON schema, name aside)."""

    id = peewee.AutoField()
    namespace = peewee.ForeignKeyField(Namespace, column_name="namespace_id")
    name = peewee.CharField(max_length=80)
    json_schema = peewee.TextField()

    class Meta:
        table_name = "metadef_properties"


class MetadefTag(MetadefModel):
    """A tag a namespace defines."""

    id = peewee.AutoField()
    namespace = peewee.ForeignKeyField(Namespace, column_name="namespace_id")
    name = peewee.CharField(max_length=80)

    class Meta:
        table_name = "metadef_tags"


class ResourceType(MetadefModel):
    """A kind of resource definitions apply to (``OS::Glance::Image``)."""

    id = peewee.AutoField()
    name = peewee.CharField(max_length=80, unique=True)
    protected = peewee.BooleanField(default=False)

    class Meta:
        table_name = "metadef_resource_types"


class NamespaceResourceType(MetadefModel):
    """A namespace applies to a resource type, its property names prefixed so."""

    namespace = peewee.ForeignKeyField(Namespace, column_name="namespace_id")
    resource_type = peewee.ForeignKeyField(ResourceType, column_name="resource_type_id")
    prefix = peewee.CharField(max_length=80, null=True)
    properties_target = peewee.CharField(max_length=80, null=True)

    class Meta:
        table_name = "metadef_namespace_resource_types"
        primary_key = peewee.CompositeKey("namespace", "resource_type")


CHILD_MODELS = (MetadefObject, MetadefProperty, MetadefTag, NamespaceResourceType)
ALL_MODELS = (Namespace, ResourceType) + CHILD_MODELS
