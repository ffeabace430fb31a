"""The first schema: images, properties, tags, locations, members."""

from __future__ import annotations

import datetime

import peewee


def _tables(db: peewee.Database) -> list[type[peewee.Model]]:
    """The tables as this migration creates them (a frozen copy, not the models)."""

    class Base(peewee.Model):
        created_at = peewee.DateTimeField(default=datetime.datetime.utcnow)
        updated_at = peewee.DateTimeField(default=datetime.datetime.utcnow)
        deleted_at = peewee.DateTimeField(null=True)
        deleted = peewee.BooleanField(default=False)

        class Meta:
            database = db

    class Image(Base):
        id = peewee.CharField(max_length=36, primary_key=True)
        name = peewee.CharField(max_length=255, null=True)
        disk_format = peewee.CharField(max_length=20, null=True)
        container_format = peewee.CharField(max_length=20, null=True)
        size = peewee.BigIntegerField(null=True)
        virtual_size = peewee.BigIntegerField(null=True)
        checksum = peewee.CharField(max_length=32, null=True)
        os_hash_algo = peewee.CharField(max_length=64, null=True)
        os_hash_value = peewee.CharField(max_length=128, null=True)
        status = peewee.CharField(max_length=30)
        visibility = peewee.CharField(max_length=20, default="shared")
        protected = peewee.BooleanField(default=False)
        os_hidden = peewee.BooleanField(default=False)
        min_disk = peewee.IntegerField(default=0)
        min_ram = peewee.IntegerField(default=0)
        owner = peewee.CharField(max_length=255, null=True)

        class Meta:
            table_name = "images"
            indexes = (
                (("deleted", "status"), False),
                (("owner",), False),
                (("visibility",), False),
                (("name",), False),
                (("created_at", "id"), False),
                (("updated_at",), False),
                (("checksum",), False),
            )

    class ImageProperty(Base):
        image = peewee.ForeignKeyField(Image, column_name="image_id")
        name = peewee.CharField(max_length=255)
        # Values may be 64 KiB: too long for a PostgreSQL btree entry, so
        # property filters use the (image_id, name) index and compare values.
        value = peewee.TextField()

        class Meta:
            table_name = "image_properties"
            indexes = ((("image", "name"), True), (("name",), False))

    class ImageTag(Base):
        image = peewee.ForeignKeyField(Image, column_name="image_id")
        value = peewee.CharField(max_length=255)

        class Meta:
            table_name = "image_tags"
            indexes = ((("image", "value"), True), (("value",), False))

    class ImageLocation(Base):
        image = peewee.ForeignKeyField(Image, column_name="image_id")
        url = peewee.TextField()
        meta_data = peewee.TextField(default="{}")
        status = peewee.CharField(max_length=30, default="active")

        class Meta:
            table_name = "image_locations"
            indexes = ((("status",), False),)

    class ImageMember(Base):
        image = peewee.ForeignKeyField(Image, column_name="image_id")
        member = peewee.CharField(max_length=255)
        can_share = peewee.BooleanField(default=False)
        status = peewee.CharField(max_length=20, default="pending")

        class Meta:
            table_name = "image_members"
            indexes = ((("image", "member"), True), (("member",), False))

    return [Image, ImageProperty, ImageTag, ImageLocation, ImageMember]


def upgrade(db: peewee.Database) -> None:
    """Create the five tables and their indexes."""
    db.create_tables(_tables(db))
