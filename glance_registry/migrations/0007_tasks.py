"""tasks: the v2 tasks API's records (one table: Glance's tasks and
task_info joined, as every read wants both)."""

from __future__ import annotations

import datetime

import peewee


def _table(db: peewee.Database) -> type[peewee.Model]:
    """The table as this migration creates it (a frozen copy, not the model)."""

    class Task(peewee.Model):
        created_at = peewee.DateTimeField(default=datetime.datetime.utcnow)
        updated_at = peewee.DateTimeField(default=datetime.datetime.utcnow)
        deleted_at = peewee.DateTimeField(null=True)
        deleted = peewee.BooleanField(default=False)
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
            database = db
            table_name = "tasks"
            indexes = (
                # Lists page by (created_at, id); an image's tasks by image_id;
                # a purge finds expired ones by expires_at.
                (("created_at", "id"), False),
                (("owner",), False),
                (("image_id",), False),
                (("expires_at",), False),
            )

    return Task


def upgrade(db: peewee.Database) -> None:
    """Create the tasks table and its indexes."""
    db.create_tables([_table(db)])
