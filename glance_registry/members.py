"""Image sharing: listing and changing an image's members.

Anyone who sees an image may list its members; who may change them is
decided by glance-api before it calls these (see ``images``).
"""

from __future__ import annotations

from typing import Any

from glance_common.context import RequestContext
from glance_registry.db import database
from glance_registry.errors import BadRequest, NotFound, Unauthenticated
from glance_registry.images import find_image
from glance_registry.models import Image, ImageMember
from glance_registry.serializers import member as member_json
from glance_registry.timestamps import utcnow

_KEEP = object()  # "can_share not given": keep the existing value


def list_members(ctx: RequestContext, image_id: str) -> list[dict[str, Any]]:
    """The live members of an image anyone who sees it may list."""
    image = _find_live(ctx, image_id)
    rows = (ImageMember.select()
            .where(ImageMember.image == image.id,
                   ImageMember.deleted == False)  # noqa: E712
            .order_by(ImageMember.id))
    return [member_json(row) for row in rows]


def add_member(ctx: RequestContext, image_id: str, member: str, body: Any) -> None:
    """Add or update one member; ``body`` is the optional {"member": {...}}."""
    can_share = _parse_one(body)
    _check_member_id(member)
    now = utcnow()
    with database.atomic():
        image = _image_for_member_change(ctx, image_id)
        _share(image, now)
        _upsert(image.id, member, can_share, now)


def replace_members(ctx: RequestContext, image_id: str, body: Any) -> None:
    """Make the member list exactly the body's ``memberships``."""
    wanted = _parse_memberships(body)
    now = utcnow()
    with database.atomic():
        image = _image_for_member_change(ctx, image_id)
        if wanted:
            _share(image, now)
        for member, can_share in wanted.items():
            _upsert(image.id, member, can_share, now)
        (ImageMember.update(deleted=True, deleted_at=now, updated_at=now)
         .where(ImageMember.image == image.id,
                ImageMember.deleted == False,  # noqa: E712
                ImageMember.member.not_in(list(wanted) or [""]))
         .execute())


def remove_member(ctx: RequestContext, image_id: str, member: str) -> None:
    """Remove one member; NotFound when it is not one."""
    now = utcnow()
    with database.atomic():
        image = _image_for_member_change(ctx, image_id)
        removed = (ImageMember.update(deleted=True, deleted_at=now, updated_at=now)
                   .where(ImageMember.image == image.id,
                          ImageMember.member == member,
                          ImageMember.deleted == False)  # noqa: E712
                   .execute())
    if not removed:
        raise NotFound("Membership could not be found.")


def shared_images(ctx: RequestContext, member: str) -> list[dict[str, Any]]:
    """Memberships of ``member``; non-admins see only their own or their images'."""
    query = (ImageMember.select(ImageMember.image, ImageMember.can_share)
             .join(Image)
             .where(ImageMember.member == member,
                    ImageMember.deleted == False,  # noqa: E712
                    Image.deleted == False)  # noqa: E712
             .order_by(ImageMember.id))
    if not ctx.is_admin and member != ctx.project_id:
        if not ctx.project_id:
            return []
        query = query.where(Image.owner == ctx.project_id)
    return [{"image_id": row.image_id, "can_share": bool(row.can_share)}
            for row in query]


def _image_for_member_change(ctx: RequestContext, image_id: str) -> Image:
    """The live image whose members ``ctx`` changes; 404 when it cannot see it.

    Who may share (owner, admin, or a can_share member in v1) is the api's
    decision; the registry only insists on a caller with a project.
    """
    if not ctx.is_admin and not ctx.project_id:
        raise Unauthenticated("No authenticated user")
    return _find_live(ctx, image_id)


def _find_live(ctx: RequestContext, image_id: str) -> Image:
    image = find_image(ctx, image_id)
    if image.deleted:
        raise NotFound("No image found with ID %s" % image_id)
    return image


def _share(image: Image, now) -> None:
    """A private image hides its members (v2 rule), so sharing it makes it shared."""
    if image.visibility == "private":
        (Image.update(visibility="shared", updated_at=now)
         .where(Image.id == image.id, Image.visibility == "private").execute())


def _upsert(image_id: str, member: str, can_share, now) -> None:
    row = (ImageMember.select()
           .where(ImageMember.image == image_id, ImageMember.member == member)
           .first())
    if row is None:
        ImageMember.insert(image=image_id, member=member,
                           can_share=False if can_share is _KEEP else can_share,
                           status="pending", created_at=now,
                           updated_at=now).execute()
    elif row.deleted:
        (ImageMember.update(deleted=False, deleted_at=None, status="pending",
                            can_share=False if can_share is _KEEP else can_share,
                            created_at=now, updated_at=now)
         .where(ImageMember.id == row.id).execute())
    elif can_share is not _KEEP and bool(row.can_share) != can_share:
        (ImageMember.update(can_share=can_share, updated_at=now)
         .where(ImageMember.id == row.id).execute())


def _parse_one(body: Any):
    if body is None or body == {}:
        return _KEEP
    if not isinstance(body, dict) or not isinstance(body.get("member"), dict):
        raise BadRequest('Expected {"member": {"can_share": true|false}}.')
    return _can_share(body["member"])


def _parse_memberships(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("memberships"), list):
        raise BadRequest('Expected {"memberships": [{"member_id": ...}, ...]}.')
    wanted = {}
    for item in body["memberships"]:
        if not isinstance(item, dict):
            raise BadRequest("Each membership must be an object.")
        member = item.get("member_id")
        _check_member_id(member)
        wanted[member] = _can_share(item)
    return wanted


def _can_share(item: dict):
    if "can_share" not in item:
        return _KEEP
    if not isinstance(item["can_share"], bool):
        raise BadRequest("can_share must be true or false.")
    return item["can_share"]


def _check_member_id(member: Any) -> None:
    if not isinstance(member, str) or not member or len(member) > 255:
        raise BadRequest("A member id must be a string of 1 to 255 characters.")
