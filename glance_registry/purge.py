"""``db purge``: remove soft-deleted rows for good, children before parents."""

from __future__ import annotations

import dataclasses
import datetime

import peewee

from glance_common.timestamps import utcnow
from glance_registry.models import CHILD_MODELS
from glance_registry.models import Image


@dataclasses.dataclass(frozen=True)
class PurgeResult:
    """How many rows each table lost."""

    images: int
    children: dict[str, int]


def purge(db: peewee.Database, age_in_days: int,
          max_rows: int | None = None) -> PurgeResult:
    """Delete rows soft-deleted more than ``age_in_days`` ago; at most ``max_rows`` images."""
    cutoff = utcnow() - datetime.timedelta(days=age_in_days)
    with db.atomic():
        doomed = (Image.select(Image.id)
                  .where(Image.deleted == True,  # noqa: E712
                         Image.deleted_at < cutoff)
                  .order_by(Image.deleted_at, Image.id))
        if max_rows is not None:
            doomed = doomed.limit(max_rows)
        image_ids = [row.id for row in doomed]
        children = {}
        for model in CHILD_MODELS:
            old_rows = (model.select(model.id)
                        .where(model.deleted == True,  # noqa: E712
                               model.deleted_at < cutoff))
            if max_rows is not None:
                old_rows = old_rows.order_by(model.id).limit(max_rows)
            condition = model.id.in_([row.id for row in old_rows])
            if image_ids:
                condition |= model.image.in_(image_ids)
            children[model._meta.table_name] = (
                model.delete().where(condition).execute())
        purged = (Image.delete().where(Image.id.in_(image_ids)).execute()
                  if image_ids else 0)
    return PurgeResult(purged, children)
