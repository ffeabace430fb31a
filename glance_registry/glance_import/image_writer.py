"""Bring one image in the registry to what ``mapping.Wanted`` says, in one
transaction, changing only what differs.

Children are matched by natural key (a property's name, a tag, a member's
project, a location's URL), so a second run finds everything equal and
writes nothing; a run after Glance changed updates the rows that changed,
adds the new ones and retires (soft-deletes) those Glance no longer has.
A retired row is reused when its key comes back: the registry's unique
indexes count retired rows too.
"""

from __future__ import annotations

import enum
from typing import Any

import peewee

from glance_common.timestamps import utcnow
from glance_registry.db import database
from glance_registry.glance_import.mapping import IMAGE_COLUMNS
from glance_registry.glance_import.mapping import Wanted
from glance_registry.models import Image
from glance_registry.models import ImageLocation
from glance_registry.models import ImageMember
from glance_registry.models import ImageProperty
from glance_registry.models import ImageTag

# child kind -> (model, the column that is its natural key)
CHILDREN: dict[str, tuple[type[peewee.Model], str]] = {
    "properties": (ImageProperty, "name"),
    "tags": (ImageTag, "value"),
    "members": (ImageMember, "member"),
    "locations": (ImageLocation, "url"),
}


class Outcome(enum.Enum):
    """What syncing one image did (or, in a dry run, would do)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def sync_image(wanted: Wanted, apply: bool) -> Outcome:
    """Make the registry hold ``wanted``; with ``apply`` false, only tell."""
    with database.atomic() as txn:
        outcome = _sync(wanted)
        if not apply:
            txn.rollback()
    return outcome


def _sync(wanted: Wanted) -> Outcome:
    current = Image.get_or_none(Image.id == wanted.id)
    columns = {k: wanted.image[k] for k in IMAGE_COLUMNS}
    if current is None:
        Image.insert(id=wanted.id, **columns).execute()
        created = True
        changed = True
    else:
        created = False
        diff = {k: v for k, v in columns.items() if getattr(current, k) != v}
        if diff:
            Image.update(**diff).where(Image.id == wanted.id).execute()
        changed = bool(diff)
    for kind, entries in wanted.children.items():
        changed = _sync_children(wanted.id, kind, entries) or changed
    if created:
        return Outcome.CREATED
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


def _sync_children(image_id: str, kind: str, entries: dict[str, dict[str, Any]]) -> bool:
    model, key = CHILDREN[kind]
    rows: dict[str, Any] = {}
    for row in model.select().where(model.image == image_id).order_by(model.id):
        name = getattr(row, key)
        # The live row of a key, else its latest retired one.
        if name not in rows or rows[name].deleted:
            rows[name] = row
    changed = False
    for name, columns in entries.items():
        row = rows.get(name)
        if row is None:
            model.insert(image=image_id, **{key: name}, **columns).execute()
            changed = True
            continue
        diff = {k: v for k, v in columns.items() if getattr(row, k) != v}
        if diff:
            model.update(**diff).where(model.id == row.id).execute()
            changed = True
    now = utcnow()
    gone = [row.id for name, row in rows.items()
            if name not in entries and not row.deleted]
    if gone:
        retire = {"deleted": True, "deleted_at": now, "updated_at": now}
        if model is ImageLocation:
            retire["status"] = "deleted"
        model.update(**retire).where(model.id.in_(gone)).execute()
        changed = True
    return changed
