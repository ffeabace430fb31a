"""Per-image count limits: members, properties and tags.

glance-api owns the limits (image_member_quota, image_property_quota,
image_tag_quota) and passes the one that applies with the write that could
exceed it; the registry counts inside the transaction of that write, so
two concurrent writes can never both slip under the limit. Counting and
writing are serialised per image: SQLite's writers already queue on BEGIN
IMMEDIATE; on PostgreSQL (READ COMMITTED) the image row is locked first,
so a second writer waits for the first to commit, and its count, a later
statement, sees the first one's rows.
"""

from __future__ import annotations

from typing import Any

from glance_registry import db
from glance_registry.errors import BadRequest
from glance_registry.errors import QuotaExceeded

# What each limit counts, in Glance's words.
MEMBERS = "image members for this image"
PROPERTIES = "image properties"
TAGS = "image tags"


def parse_limit(body: Any, key: str) -> int | None:
    """The limit ``body[key]`` names: None (absent, null or negative) is unlimited."""
    if not isinstance(body, dict):
        return None
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("%s must be a whole number or null." % key)
    return value if value >= 0 else None


def lock_image(image_id: str) -> None:
    """Serialise count-and-write on one image until the transaction ends."""
    if db.is_postgresql():
        db.database.execute_sql("SELECT id FROM images WHERE id = %s FOR UPDATE",
                                (image_id,))


def enforce(what: str, attempted: int, limit: int | None) -> None:
    """QuotaExceeded (413) when ``attempted`` is over ``limit`` (None: unlimited)."""
    if limit is not None and attempted > limit:
        raise QuotaExceeded("The limit has been exceeded on the number of allowed "
                            "%s. Attempted: %d, Maximum: %d" % (what, attempted, limit))
