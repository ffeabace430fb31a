"""images.fetch_pending_at: when glance-api last vouched for a fetch it owes
a queued image (v1 copy-from), so the sweep can fail one whose api died."""

from __future__ import annotations

import peewee


def upgrade(db: peewee.Database) -> None:
    """Add the column (no image owes a fetch yet) and an index for the sweep."""
    kind = "TIMESTAMP" if isinstance(db, peewee.PostgresqlDatabase) else "DATETIME"
    db.execute_sql("ALTER TABLE images ADD COLUMN fetch_pending_at %s" % kind)
    # Nearly every image has none: a partial index stays as small as the
    # number of fetches in flight.
    db.execute_sql("CREATE INDEX images_fetch_pending ON images (fetch_pending_at)"
                   " WHERE fetch_pending_at IS NOT NULL")
