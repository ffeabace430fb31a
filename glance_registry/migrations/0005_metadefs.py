"""The metadata definitions catalog: namespaces and what they define.

Names are unique where Glance made them unique: a namespace's name across
the catalog, an object's, property's or tag's name within its namespace, a
resource type's name, and a namespace's association with a resource type.
Rows are deleted for good (no ``deleted`` columns): a name is reusable as
soon as its holder is gone.
"""

from __future__ import annotations

import datetime

import peewee


def _tables(db: peewee.Database) -> list[type[peewee.Model]]:
    """The tables as this migration creates them (a frozen copy, not the models)."""

    class Base(peewee.Model):
        created_at = peewee.DateTimeField(default=datetime.datetime.utcnow)
        updated_at = peewee.DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db

    class Namespace(Base):
        id = peewee.AutoField()
        namespace = peewee.CharField(max_length=80, unique=True)
        display_name = peewee.CharField(max_length=80, null=True)
        description = peewee.TextField(null=True)
        visibility = peewee.CharField(max_length=32, default="private")
        protected = peewee.BooleanField(default=False)
        owner = peewee.CharField(max_length=255, null=True)

        class Meta:
            table_name = "metadef_namespaces"
            indexes = ((("owner",), False),)

    class MetadefObject(Base):
        id = peewee.AutoField()
        namespace = peewee.ForeignKeyField(Namespace, column_name="namespace_id")
        name = peewee.CharField(max_length=80)
        description = peewee.TextField(null=True)
        required = peewee.TextField(default="[]")
        json_schema = peewee.TextField(default="{}")

        class Meta:
            table_name = "metadef_objects"
            indexes = ((("namespace", "name"), True),)

    class MetadefProperty(Base):
        id = peewee.AutoField()
        namespace = peewee.ForeignKeyField(Namespace, column_name="namespace_id")
        name = peewee.CharField(max_length=80)
        json_schema = peewee.TextField()

        class Meta:
            table_name = "metadef_properties"
            indexes = ((("namespace", "name"), True),)

    class MetadefTag(Base):
        id = peewee.AutoField()
        namespace = peewee.ForeignKeyField(Namespace, column_name="namespace_id")
        name = peewee.CharField(max_length=80)

        class Meta:
            table_name = "metadef_tags"
            indexes = ((("namespace", "name"), True),)

    class ResourceType(Base):
        id = peewee.AutoField()
        name = peewee.CharField(max_length=80, unique=True)
        protected = peewee.BooleanField(default=False)

        class Meta:
            table_name = "metadef_resource_types"

    class NamespaceResourceType(Base):
        namespace = peewee.ForeignKeyField(Namespace, column_name="namespace_id")
        resource_type = peewee.ForeignKeyField(ResourceType,
                                               column_name="resource_type_id")
        prefix = peewee.CharField(max_length=80, null=True)
        properties_target = peewee.CharField(max_length=80, null=True)

        class Meta:
            table_name = "metadef_namespace_resource_types"
            primary_key = peewee.CompositeKey("namespace", "resource_type")
            indexes = ((("resource_type",), False),)

    return [Namespace, MetadefObject, MetadefProperty, MetadefTag, ResourceType,
            NamespaceResourceType]


def upgrade(db: peewee.Database) -> None:
    """Create the six catalog tables and their indexes."""
    db.create_tables(_tables(db))
