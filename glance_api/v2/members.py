"""Handlers of /v2/images/{id}/members[/{member}] (spec v2 section 7).

Only ``shared`` images have members. The owner (or an admin) adds and
removes them; a member project answers for itself (accepted, rejected,
pending) and sees only its own entry.
"""

from __future__ import annotations

import flask

from glance_api import policy
from glance_api import registry_client
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import NotFound
from glance_api.exceptions import TooLarge
from glance_api.services import services
from glance_api.v2 import schemas
from glance_api.v2 import views
from glance_api.v2.images import get_image
from glance_api.v2.images import json_body

bp = flask.Blueprint("v2_members", __name__)


def _image_and_members(image_id: str) -> tuple[dict, list[dict]]:
    ctx, svc = flask.g.context, services()
    try:
        image = get_image(svc, ctx, image_id)
    except NotFound:
        raise NotFound("Image %s not found." % image_id) from None
    return image, svc.registry.members(ctx, image_id)


def _is_manager(image: dict) -> bool:
    ctx = flask.g.context
    return ctx.is_admin or bool(ctx.project_id and image.get("owner") == ctx.project_id)


def _not_a_member(member: str, image_id: str) -> NotFound:
    return NotFound("%s not found in the member list of the image %s." % (member, image_id))


@bp.post("/v2/images/<image_id>/members")
def create(image_id):
    ctx, svc = flask.g.context, services()
    image, members = _image_and_members(image_id)
    svc.policy.enforce(ctx, "add_member", image)
    if image["visibility"] != "shared":
        raise Forbidden("Not allowed to create members for image %s." % image_id)
    body = json_body()
    member = body.get("member") if isinstance(body, dict) else None
    if not isinstance(member, str) or not member:
        raise BadRequest("Member to be added not specified")
    quota = svc.conf.image_member_quota
    # A fast path; the registry counts again in the write's own transaction.
    _check_member_quota(quota, len(members) + 1)
    try:
        row = svc.registry.create_member(ctx, image_id, member,
                                         member_quota=quota if quota >= 0 else None)
    except registry_client.Conflict:
        raise Conflict("Member %s is duplicated for image %s" % (member, image_id)) from None
    except registry_client.QuotaExceeded as exc:
        raise TooLarge(exc.message) from exc  # Glance's words, from the registry
    return views.member(image_id, row)


def _check_member_quota(quota: int, attempted: int) -> None:
    """413 in Glance's words beyond ``quota`` members (a negative quota: unlimited)."""
    if 0 <= quota < attempted:
        raise TooLarge("The limit has been exceeded on the number of allowed image "
                       "members for this image. Attempted: %d, Maximum: %d"
                       % (attempted, quota))


@bp.get("/v2/images/<image_id>/members")
def index(image_id):
    ctx, svc = flask.g.context, services()
    image, members = _image_and_members(image_id)
    if image["visibility"] != "shared":
        raise Forbidden("Not allowed to list members for image %s: Only shared images "
                        "have members." % image_id)
    svc.policy.enforce(ctx, "get_members", policy.member_target(image, ctx, members))
    if not _is_manager(image):
        members = [m for m in members if m["member_id"] == ctx.project_id]
    return views.members(image_id, members)


@bp.get("/v2/images/<image_id>/members/<member>")
def show(image_id, member):
    ctx, svc = flask.g.context, services()
    image, members = _image_and_members(image_id)
    svc.policy.enforce(ctx, "get_member", policy.member_target(image, ctx, members))
    row = next((m for m in members if m["member_id"] == member), None)
    if row is None or (not _is_manager(image) and member != ctx.project_id):
        raise _not_a_member(member, image_id)
    return views.member(image_id, row)


@bp.put("/v2/images/<image_id>/members/<member>")
def answer(image_id, member):
    ctx, svc = flask.g.context, services()
    image, members = _image_and_members(image_id)
    if not any(m["member_id"] == member for m in members):
        raise _not_a_member(member, image_id)
    # The member answers for itself: modify_member is checked against the
    # membership being changed, so an owner cannot accept on its behalf.
    svc.policy.enforce(ctx, "modify_member", dict(image, member_id=member))
    body = json_body()
    if not isinstance(body, dict) or "status" not in body:
        raise BadRequest("Status not specified")
    status = schemas.validate_member_status(body["status"])
    try:
        row = svc.registry.set_member_status(ctx, image_id, member, status)
    except registry_client.NotFound:
        raise _not_a_member(member, image_id) from None
    return views.member(image_id, row)


@bp.delete("/v2/images/<image_id>/members/<member>")
def delete(image_id, member):
    ctx, svc = flask.g.context, services()
    image, members = _image_and_members(image_id)
    svc.policy.enforce(ctx, "delete_member", image)
    if not any(m["member_id"] == member for m in members):
        raise _not_a_member(member, image_id)
    try:
        svc.registry.delete_member(ctx, image_id, member)
    except registry_client.NotFound:
        raise _not_a_member(member, image_id) from None
    return flask.Response(status=204)
