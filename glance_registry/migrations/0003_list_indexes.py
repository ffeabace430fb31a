"""Indexes for the lists clients ask for most.

- Images in name or size order (the classic client lists by name): the
  listing sorts on ``coalesce(name, '')`` and ``coalesce(size, -1)`` so both
  databases order nulls alike; these indexes hold the same expressions, so a
  first page reads 20 index entries instead of sorting every image.
- No index leading with ``deleted``: nearly every image has deleted =
  false, but a planner without statistics (SQLite) took an equality on it
  for a good filter and sorted every image to return 20. The sweep's
  ``status = 'saving'`` gets an index of its own.
- Images by a property's name and value: values may be 64 KiB, too long for
  a PostgreSQL b-tree entry, so the index holds their first 200 characters;
  the filter compares those, then the whole value. Names are compared
  case-insensitively (v1 lower-cases keys, v2 keeps their case).
"""

from __future__ import annotations

import peewee

VALUE_PREFIX = 200


def upgrade(db: peewee.Database) -> None:
    """Create the indexes."""
    for statement in (
            "DROP INDEX IF EXISTS image_deleted_status",
            "CREATE INDEX images_status ON images (status)",
            "CREATE INDEX images_name_order ON images "
            "(coalesce(name, ''), created_at, id)",
            "CREATE INDEX images_size_order ON images "
            "(coalesce(size, -1), created_at, id)",
            "CREATE INDEX image_properties_lookup ON image_properties "
            "(lower(name), substr(value, 1, %d))" % VALUE_PREFIX):
        db.execute_sql(statement)
