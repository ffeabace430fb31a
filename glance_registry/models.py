"""The metadata tables, as they stand after the newest migration.

Every table is soft-deleted (``deleted``, ``deleted_at``); rows go for good
only through ``glance-manage db purge``. The schema itself is created by the
numbered migrations, never by ``create_tables`` on these classes.
"""

from __future__ import annotations

import peewee

from glance_common.timestamps import utcnow
from glance_registry.db import database


class BaseModel(peewee.Model):
    """Columns every table has."""

    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    deleted_at = peewee.DateTimeField(null=True)
    deleted = peewee.BooleanField(default=False)

    class Meta:
        database = database
        legacy_table_names = False


class Image(BaseModel):
    """One image's own fields (v2 shape; v1's is_public is visibility)."""

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
    # Bytes held against the owner's storage quota while the image is saving.
    reserved_size = peewee.BigIntegerField(default=0)
    # When glance-api last vouched for the fetch a queued image waits for
    # (v1 copy-from); null when none is pending. Never shown to clients.
    fetch_pending_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "images"


class ImageProperty(BaseModel):
    """A free-form key/value pair of an image."""

    image = peewee.ForeignKeyField(Image, column_name="image_id",
                                   backref="properties")
    name = peewee.CharField(max_length=255)
    value = peewee.TextField()

    class Meta:
        table_name = "image_properties"


class ImageTag(BaseModel):
    """A v2 tag of an image."""

    image = peewee.ForeignKeyField(Image, column_name="image_id",
                                   backref="tags")
    value = peewee.CharField(max_length=255)

    class Meta:
        table_name = "image_tags"


class ImageLocation(BaseModel):
    """Where some of an image's bytes live; status tells the scrubber what to do."""

    image = peewee.ForeignKeyField(Image, column_name="image_id",
                                   backref="locations")
    url = peewee.TextField()
    meta_data = peewee.TextField(default="{}")  # JSON object
    status = peewee.CharField(max_length=30, default="active")

    class Meta:
        table_name = "image_locations"


class ImageMember(BaseModel):
    """A project an image is shared with."""

    image = peewee.ForeignKeyField(Image, column_name="image_id",
                                   backref="members")
    member = peewee.CharField(max_length=255)
    can_share = peewee.BooleanField(default=False)
    status = peewee.CharField(max_length=20, default="pending")

    class Meta:
        table_name = "image_members"


class SchemaVersion(peewee.Model):
    """One row per applied migration."""

    version = peewee.IntegerField(primary_key=True)
    applied_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        database = database
        table_name = "schema_version"


CHILD_MODELS = (ImageProperty, ImageTag, ImageLocation, ImageMember)
ALL_MODELS = (Image,) + CHILD_MODELS


class Task(BaseModel):
    """One v2 task: an import's record of progress, kept until expires_at.

    ``input`` and ``result`` are JSON objects stored as text (``result``
    null until the task ends); ``expires_at`` is set when the task reaches
    success or failure, and lists and lookups hide it from then on.
    """

    id = peewee.CharField(max_length=36, primary_key=True)
    type = peewee.CharField(max_length=30)
    status = peewee.CharField(max_length=30)
    owner = peewee.CharField(max_length=255, null=True)
    input = peewee.TextField(default="{}")
    result = peewee.TextField(null=True)
    message = peewee.TextField(default="")
    image_id = peewee.CharField(max_length=36, null=True)
    request_id = peewee.CharField(max_length=255, null=True)
    user_id = peewee.CharField(max_length=255, null=True)
    expires_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "tasks"
