"""The v1 rules for creating and changing images from x-image-meta-* headers.

Every check that needs no image bytes runs before anything is recorded, so a
bad request changes nothing (DESIGN.md). Rules both versions share live in
glance_api.image_rules; these are the ones that read v1's headers.
"""

from __future__ import annotations

import dataclasses

from glance_api import image_rules
from glance_api import policy
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.services import Services
from glance_api.v1.headers import ImageMeta
from glance_common.context import RequestContext

RESERVED_PREFIX = "os_glance"

FROZEN_WHEN_ACTIVE = ("size", "checksum")
OCTET_STREAM = "application/octet-stream"


@dataclasses.dataclass(frozen=True)
class Body:
    """What a request says of its body, before any byte is read."""

    present: bool
    length: int | None  # Content-Length of a body that is not chunked
    content_type: str = OCTET_STREAM

    @classmethod
    def of(cls, headers, content_length: int | None, mimetype: str | None) -> "Body":
        """A positive Content-Length or any chunked body counts as data (spec 4.4)."""
        chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        return cls(present=chunked or bool(content_length),
                   length=None if chunked else content_length,
                   content_type=(mimetype or OCTET_STREAM).lower())


NO_BODY = Body(False, None)


def declared_size(meta: ImageMeta, body: Body, image: dict | None = None) -> int | None:
    """The size the caller promised, if any: header, Content-Length, or reserve."""
    if meta.fields.get("size") is not None:
        return meta.fields["size"]
    if body.length:
        return body.length
    if image and image.get("size"):
        return image["size"]
    return None


def _check_common(ctx: RequestContext, svc: Services, meta: ImageMeta, body: Body,
                  target: dict) -> None:
    for key in meta.properties:
        # The service's own bookkeeping (import progress, the stage host,
        # the upload's API version), which v2 refuses too: one database.
        if key.startswith(RESERVED_PREFIX):
            raise Forbidden("Attribute '%s' is reserved." % key)
    image_rules.check_formats(meta.fields)
    svc.uploader.format_rules.check_allowed(meta.fields)
    cap = svc.conf.image_size_cap
    size = declared_size(meta, body)
    if size is not None and size > cap:
        raise BadRequest("Denying attempt to upload image larger than %d bytes." % cap)
    checksum = meta.fields.get("checksum")
    if checksum is not None and len(checksum) > 32:
        raise BadRequest("checksum is at most 32 characters (an MD5 hex digest).")
    if meta.fields.get("is_public"):
        svc.policy.enforce(ctx, "publicize_image")
    sources = [body.present, bool(meta.copy_from), meta.location is not None]
    if sum(sources) > 1:
        raise BadRequest("It's invalid to provide multiple image sources.")
    if body.present:
        svc.policy.enforce(ctx, "upload_image", target)
        if body.content_type != OCTET_STREAM:
            raise BadRequest("Image data must be sent as application/octet-stream, "
                             "not %s." % body.content_type)
    if meta.copy_from is not None:
        svc.policy.enforce(ctx, "copy_from")
        image_rules.check_external_url(svc.stores, meta.copy_from)
    if meta.location is not None:
        svc.policy.enforce(ctx, "set_image_location", target)
        image_rules.check_external_url(svc.stores, meta.location)
    image_rules.check_store(svc.stores, meta.store)


def _live_properties(properties: dict) -> int:
    return sum(v is not None for v in properties.values())


def check_create(ctx: RequestContext, svc: Services, meta: ImageMeta, body: Body) -> None:
    """Every check of spec 4.4 that needs no bytes; raises the client's error."""
    target = policy.new_image_target(ctx)
    svc.policy.enforce(ctx, "add_image", target)
    _check_common(ctx, svc, meta, body, target)
    if meta.fields.get("status") not in (None, "queued"):
        raise Forbidden("Forbidden to modify 'status' of image.")
    image_rules.check_property_quota(svc.conf.image_property_quota,
                                     _live_properties(meta.properties))
    if body.present or meta.copy_from or meta.location:
        image_rules.require_formats(meta.fields)


def new_record(ctx: RequestContext, meta: ImageMeta, body: Body) -> dict:
    """The registry record for a new image."""
    record = {k: v for k, v in meta.fields.items()
              if k not in ("is_public", "status") and v is not None}
    if not ctx.is_admin:
        record.pop("owner", None)
    elif "owner" in meta.fields:
        record["owner"] = meta.fields["owner"]
    if meta.fields.get("is_public"):
        record["visibility"] = "public"
    record["properties"] = {k: v for k, v in meta.properties.items() if v is not None}
    explicit_empty = meta.fields.get("size") == 0 and not (
        body.present or meta.copy_from or meta.location)
    record["status"] = "active" if explicit_empty else "queued"
    if body.present or meta.location:
        # The bytes decide these; a caller's values are checked against them.
        record.pop("size", None)
    return record


def check_update(ctx: RequestContext, svc: Services, image: dict, meta: ImageMeta,
                 body: Body) -> dict:
    """Every check of spec 4.6; returns the changes to send to the registry."""
    svc.policy.enforce(ctx, "modify_image", image)
    if image.get("deleted") or image["status"] in ("deleted", "pending_delete"):
        raise Forbidden("Forbidden to update deleted image.")
    _check_common(ctx, svc, meta, body, image)
    fields = _checked_fields(ctx, image, meta)
    if body.present and image["status"] != "queued":
        raise Conflict("Cannot upload to an unqueued image")
    if (meta.location is not None or meta.copy_from) and image["status"] != "queued":
        raise BadRequest("Attempted to update Location field for an image "
                         "not in queued status.")
    purge = meta.purge_props and not body.present
    given = _as_stored(meta.properties, image.get("properties") or {})
    kept = {} if purge else dict(image.get("properties") or {})
    kept.update(given)
    image_rules.check_property_quota(svc.conf.image_property_quota, _live_properties(kept))
    if body.present or meta.location:
        image_rules.require_formats(dict(image, **{k: v for k, v in fields.items()
                                                   if v is not None}))
        fields.pop("size", None)
        if image.get("checksum"):
            fields.pop("checksum", None)
    changes = {k: v for k, v in fields.items() if k != "is_public"}
    if "is_public" in fields:
        if fields["is_public"]:
            changes["visibility"] = "public"
        elif image.get("visibility") == "public":
            changes["visibility"] = "shared"
    if given or purge:
        changes["properties"] = given if not purge else {
            k: v for k, v in given.items() if v is not None}
    if purge:  # reserved properties are not the caller's to purge
        changes["properties"].update(
            {k: v for k, v in (image.get("properties") or {}).items()
             if k.startswith(RESERVED_PREFIX)})
    return changes


def _as_stored(given: dict, stored: dict) -> dict:
    """v1 property names under the spelling already stored.

    HTTP headers carry no case, so v1 names arrive lower-cased; v2 keeps a
    key's case. A v1 write of ``foo`` to an image that has ``Foo`` must
    change that row, not add a second one (spec v2 section 16).
    """
    spelled = {key.lower(): key for key in stored}
    return {spelled.get(key.lower(), key): value for key, value in given.items()}


def _checked_fields(ctx: RequestContext, image: dict, meta: ImageMeta) -> dict:
    """The header fields an update may change; 403 for those it may not."""
    fields = dict(meta.fields)
    for field in ("status", "id"):
        if field in fields and fields[field] != image.get(field):
            raise Forbidden("Forbidden to modify '%s' of image." % field)
        fields.pop(field, None)
    if not ctx.is_admin:
        fields.pop("owner", None)
    # Glance let an admin change these too; here the record must keep
    # describing the stored data, or every download of the image (v1 and
    # v2 share it) is refused as corrupt. v2 never lets anyone change them.
    if image["status"] in ("active", "deactivated"):
        for field in FROZEN_WHEN_ACTIVE:
            if field in fields and fields[field] != image.get(field):
                raise Forbidden("Forbidden to modify '%s' of active image." % field)
    return fields


def check_sharable(ctx: RequestContext, svc: Services, action: str, image: dict,
                   members: list[dict]) -> None:
    """v1 sharing: what policy allows ``action`` (the owner or an admin by
    default), or a member given can_share, a v1-only privilege (spec v2 16)."""
    if any(m["member_id"] == ctx.project_id and m.get("can_share") for m in members):
        return
    if not svc.policy.check(ctx, action, image):
        raise Forbidden("No permission to share that image")
