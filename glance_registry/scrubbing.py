"""The scrubber's status changes: pending_delete -> deleted, or back to active.

Both are moves of the status machine (``glance_registry.status``) and
compare-and-set on ``pending_delete``, so a restore and a scrub of the same
image cannot both win: whichever changes the row first decides, and the
other gets Conflict. Only admins (glance-scrubber) may make them.
"""

from __future__ import annotations

from typing import Any

from glance_common.context import RequestContext
from glance_common.timestamps import utcnow
from glance_registry import status
from glance_registry.db import database
from glance_registry.errors import Conflict
from glance_registry.errors import Forbidden
from glance_registry.errors import NotFound
from glance_registry.images import load
from glance_registry.images import show
from glance_registry.models import Image
from glance_registry.models import ImageLocation
from glance_registry.models import ImageMember
from glance_registry.models import ImageProperty
from glance_registry.models import ImageTag
from glance_registry.validation import is_uuid_like
from glance_registry.validation import normalize_id


def mark_scrubbed(ctx: RequestContext, image_id: str) -> dict[str, Any]:
    """pending_delete -> deleted; its locations are retired with it."""
    now = utcnow()
    with database.atomic():
        image = _pending_image(ctx, image_id)
        _leave_pending(image, {"status": "deleted", "updated_at": now})
        (ImageLocation.update(status="deleted", deleted=True, deleted_at=now,
                              updated_at=now)
         .where(ImageLocation.image == image.id,
                ImageLocation.deleted == False)  # noqa: E712
         .execute())
        return show(load(image.id))


def restore(ctx: RequestContext, image_id: str) -> dict[str, Any]:
    """pending_delete -> active, with the properties, tags, members and
    locations its deletion retired."""
    now = utcnow()
    with database.atomic():
        image = _pending_image(ctx, image_id)
        _leave_pending(image, {"status": "active", "deleted": False,
                               "deleted_at": None, "updated_at": now})
        # The delete stamped the image and its children with one time, so
        # that time tells exactly which rows went with it.
        for model in (ImageProperty, ImageTag, ImageMember):
            (model.update(deleted=False, deleted_at=None, updated_at=now)
             .where(model.image == image.id, model.deleted == True,  # noqa: E712
                    model.deleted_at == image.deleted_at)
             .execute())
        (ImageLocation.update(status="active", updated_at=now)
         .where(ImageLocation.image == image.id,
                ImageLocation.status == "pending_delete",
                ImageLocation.deleted == False)  # noqa: E712
         .execute())
        return show(load(image.id))


def _pending_image(ctx: RequestContext, image_id: str) -> Image:
    if not ctx.is_admin:
        raise Forbidden("Only administrators may scrub or restore images.")
    image = (Image.get_or_none(Image.id == normalize_id(image_id))
             if is_uuid_like(image_id) else None)
    if image is None:
        raise NotFound("No image found with ID %s" % image_id)
    return image


def _leave_pending(image: Image, columns: dict[str, Any]) -> None:
    """Compare-and-set the image from pending_delete to ``columns["status"]``."""
    if image.status != "pending_delete":
        raise Conflict("Image %s is %s, not pending_delete." % (image.id, image.status))
    status.check_transition(image.status, columns["status"])
    changed = (Image.update(columns)
               .where(Image.id == image.id, Image.status == "pending_delete")
               .execute())
    if changed == 0:
        raise Conflict("Image %s is no longer pending_delete." % image.id)
