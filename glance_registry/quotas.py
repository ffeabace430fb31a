"""Storage quota accounting: a project's usage, and holding bytes for an upload.

A project's usage is the size of its live ``active`` and ``deactivated``
images plus the bytes held (``reserved_size``) by its images whose data is on
its way in: ``saving`` (an upload), ``uploading`` (a stage) and ``importing``.
Killed and deleted images count for nothing. An upload holds bytes before
it stores them; checking the usage and holding more are one transaction
serialised per project, so two uploads can never both fit into the room
left for one. SQLite serialises every writer already (BEGIN IMMEDIATE);
PostgreSQL takes a transaction-scoped advisory lock on the project.
"""

from __future__ import annotations

import hashlib
from typing import Any

import peewee

from glance_common.context import RequestContext
from glance_registry import db
from glance_registry.errors import BadRequest
from glance_registry.errors import Conflict
from glance_registry.errors import QuotaExceeded
from glance_registry.images import find_live_image
from glance_registry.models import Image

COUNTED = ("active", "deactivated")
# Statuses whose bytes are held rather than counted by size.
RESERVING = ("saving", "uploading", "importing")


def usage(project: str, excluding: str | None = None) -> int:
    """Bytes counted against ``project``'s quota (leaving out image ``excluding``)."""
    stored = peewee.Case(None, [(Image.status.in_(COUNTED), peewee.fn.COALESCE(Image.size, 0)),
                                (Image.status.in_(RESERVING), Image.reserved_size)], 0)
    query = Image.select(peewee.fn.COALESCE(peewee.fn.SUM(stored), 0)).where(
        Image.owner == project, Image.deleted == False)  # noqa: E712
    if excluding is not None:
        query = query.where(Image.id != excluding)
    return int(query.scalar() or 0)


def reserve(ctx: RequestContext, image_id: str, body: Any) -> dict[str, int]:
    """Hold bytes for an image taking data: ``wanted`` if they fit, else the room
    left if that covers ``at_least``; QuotaExceeded (413) otherwise.
    """
    at_least, wanted, quota = _parse(body)
    with db.database.atomic():
        image = find_live_image(ctx, image_id)
        if image.status not in RESERVING:
            raise Conflict("Image %s is %s, not taking data: nothing to reserve for."
                           % (image_id, image.status))
        if not image.owner or quota == 0:  # no project, or unlimited
            return {"reserved": wanted, "usage": 0, "quota": quota}
        _lock_project(image.owner)
        used = usage(image.owner, excluding=image.id)
        room = quota - used
        if room < at_least:
            raise QuotaExceeded(
                "Project %s would store %d bytes, over its quota of %d bytes "
                "(%d bytes are in use)." % (image.owner, used + at_least, quota, used))
        held = max(min(wanted, room), image.reserved_size)
        changed = (Image.update(reserved_size=held)
                   .where(Image.id == image.id, Image.status == image.status)
                   .execute())
        if not changed:
            raise Conflict("Image %s stopped taking data." % image_id)
    return {"reserved": held, "usage": used + held, "quota": quota}


def _lock_project(project: str) -> None:
    """Serialise quota decisions of one project until the transaction ends."""
    if db.is_postgresql():
        digest = hashlib.sha256(("glance-quota:" + project).encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        db.database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def _parse(body: Any) -> tuple[int, int, int]:
    if not isinstance(body, dict):
        raise BadRequest('Expected {"at_least": n, "wanted": n, "quota": n}.')
    values = []
    for key in ("at_least", "wanted", "quota"):
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadRequest("%s must be a whole number of bytes." % key)
        values.append(value)
    at_least, wanted, quota = values
    return at_least, max(at_least, wanted), quota
