"""Image sharing: listing and changing an image's members.

Anyone who sees an image may list its members; who may change them (and,
in v2, whether the image is shared) is decided by glance-api before it
calls these (see ``images``). v1 adds members with a ``can_share`` flag and
makes a private image shared; v2 adds them with can_share false and leaves
the visibility alone, and a member accepts or rejects (``status``). A write
that adds members may carry ``member_quota``, checked against the live
members in its own transaction (``limits``).
"""

from __future__ import annotations

from typing import Any

import peewee

from glance_common.context import RequestContext
from glance_common.timestamps import utcnow
from glance_registry import limits
from glance_registry.db import database
from glance_registry.errors import BadRequest
from glance_registry.errors import Conflict
from glance_registry.errors import NotFound
from glance_registry.errors import Unauthenticated
from glance_registry.images import find_image
from glance_registry.models import Image
from glance_registry.models import ImageMember
from glance_registry.serializers import member as member_json

_KEEP = object()  # "can_share not given": keep the existing value
MEMBER_STATUSES = ("pending", "accepted", "rejected")


def list_members(ctx: RequestContext, image_id: str) -> list[dict[str, Any]]:
    """The live members of an image anyone who sees it may list."""
    image = _find_live(ctx, image_id)
    rows = (ImageMember.select()
            .where(ImageMember.image == image.id,
                   ImageMember.deleted == False)  # noqa: E712
            .order_by(ImageMember.id))
    return [member_json(row) for row in rows]


def add_member(ctx: RequestContext, image_id: str, member: str, body: Any) -> None:
    """Add or update one member; ``body`` is the optional
    {"member": {...}, "member_quota": n}."""
    can_share = _parse_one(body)
    quota = limits.parse_limit(body, "member_quota")
    _check_member_id(member)
    now = utcnow()
    with database.atomic():
        image = _image_for_member_change(ctx, image_id)
        if quota is not None:
            limits.lock_image(image.id)
            if _row(image.id, member) is None:
                limits.enforce(limits.MEMBERS, _live_count(image.id) + 1, quota)
        _share(image, now)
        _upsert(image.id, member, can_share, now)


def replace_members(ctx: RequestContext, image_id: str, body: Any) -> None:
    """Make the member list exactly the body's ``memberships``."""
    wanted = _parse_memberships(body)
    # The list becomes exactly ``wanted``, whatever a concurrent write did.
    limits.enforce(limits.MEMBERS, len(wanted), limits.parse_limit(body, "member_quota"))
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


def create_member(ctx: RequestContext, image_id: str, body: Any) -> dict[str, Any]:
    """v2: add ``body["member_id"]`` as a pending member; Conflict when it is one."""
    if not isinstance(body, dict):
        raise BadRequest('Expected {"member_id": "<project>"}.')
    member = body.get("member_id")
    _check_member_id(member)
    quota = limits.parse_limit(body, "member_quota")
    now = utcnow()
    try:
        with database.atomic():
            image = _image_for_member_change(ctx, image_id)
            if quota is not None:
                limits.lock_image(image.id)
            row = _row(image.id, member, live=False)
            if row is not None and not row.deleted:
                raise _duplicate(member, image.id)
            if quota is not None:
                limits.enforce(limits.MEMBERS, _live_count(image.id) + 1, quota)
            if row is None:
                ImageMember.insert(image=image.id, member=member, can_share=False,
                                   status="pending", created_at=now,
                                   updated_at=now).execute()
            elif not (ImageMember.update(deleted=False, deleted_at=None,
                                         status="pending", can_share=False,
                                         created_at=now, updated_at=now)
                      .where(ImageMember.id == row.id,
                             ImageMember.deleted == True)  # noqa: E712
                      .execute()):
                raise _duplicate(member, image.id)  # revived meanwhile
    except peewee.IntegrityError as exc:  # added meanwhile
        raise _duplicate(member, image_id) from exc
    return member_json(_row(image.id, member))


def get_member(ctx: RequestContext, image_id: str, member: str) -> dict[str, Any]:
    """One live member of an image the caller sees; NotFound otherwise."""
    image = _find_live(ctx, image_id)
    row = _row(image.id, member)
    if row is None:
        raise _not_a_member(member, image.id)
    return member_json(row)


def set_member_status(ctx: RequestContext, image_id: str, member: str,
                      body: Any) -> dict[str, Any]:
    """v2: set a member's status (pending, accepted, rejected)."""
    if not isinstance(body, dict) or "status" not in body:
        raise BadRequest("Status not specified")
    wanted = body["status"]
    if wanted not in MEMBER_STATUSES:
        raise BadRequest('Status must be "pending", "accepted" or "rejected".')
    now = utcnow()
    with database.atomic():
        image = _image_for_member_change(ctx, image_id)
        changed = (ImageMember.update(status=wanted, updated_at=now)
                   .where(ImageMember.image == image.id,
                          ImageMember.member == member,
                          ImageMember.deleted == False)  # noqa: E712
                   .execute())
        if not changed:
            raise _not_a_member(member, image.id)
        return member_json(_row(image.id, member))


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


def _row(image_id: str, member: str, live: bool = True) -> ImageMember | None:
    """The membership row (live only, unless ``live`` is False)."""
    query = ImageMember.select().where(ImageMember.image == image_id,
                                       ImageMember.member == member)
    if live:
        query = query.where(ImageMember.deleted == False)  # noqa: E712
    return query.first()


def _live_count(image_id: str) -> int:
    return (ImageMember.select()
            .where(ImageMember.image == image_id,
                   ImageMember.deleted == False)  # noqa: E712
            .count())


def _duplicate(member: str, image_id: str) -> Conflict:
    return Conflict("Member %s is duplicated for image %s" % (member, image_id))


def _not_a_member(member: str, image_id: str) -> NotFound:
    return NotFound("%s not found in the member list of the image %s."
                    % (member, image_id))


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
    if isinstance(body, dict) and "member" not in body and set(body) <= {"member_quota"}:
        return _KEEP
    if body is None:
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
