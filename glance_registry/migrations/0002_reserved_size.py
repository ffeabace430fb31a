"""images.reserved_size: bytes an upload holds against its project's quota."""

from __future__ import annotations

import peewee


def upgrade(db: peewee.Database) -> None:
    """Add the column; existing images hold nothing."""
    db.execute_sql("ALTER TABLE images ADD COLUMN reserved_size BIGINT NOT NULL DEFAULT 0")
