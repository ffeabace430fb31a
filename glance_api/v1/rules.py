"""The v1 rules for creating, changing and reading images, as plain functions.

Every check that needs no image bytes runs before anything is recorded, so a
bad request changes nothing (DESIGN.md).
"""

from __future__ import annotations

import flask

from glance_api import errors, policy
from glance_api.v1.headers import ImageMeta
from glance_common.context import RequestContext
from glance_store import Capability
from glance_store.url_filter import redact

DISK_FORMATS = frozenset({"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                          "qcow2", "vdi", "iso", "ploop"})
CONTAINER_FORMATS = frozenset({"ami", "ari", "aki", "bare", "ovf", "ova", "docker"})
AMAZON_FORMATS = frozenset({"ami", "ari", "aki"})
# Schemes a caller may point an image at (CVE-2014-9493: never file: & co).
EXTERNAL_SCHEMES = ("http://", "https://")
FROZEN_WHEN_ACTIVE = ("size", "checksum")


def has_body(request: flask.Request) -> bool:
    """A positive Content-Length or any chunked body counts as data (spec 4.4)."""
    if "chunked" in (request.headers.get("Transfer-Encoding") or "").lower():
        return True
    return bool(request.content_length)


def declared_size(meta: ImageMeta, request: flask.Request,
                  image: dict | None = None) -> int | None:
    """The size the caller promised, if any: header, Content-Length, or reserve."""
    if meta.fields.get("size") is not None:
        return meta.fields["size"]
    if request.content_length and "chunked" not in (
            request.headers.get("Transfer-Encoding") or "").lower():
        return request.content_length
    if image and image.get("size"):
        return image["size"]
    return None


def check_formats(fields: dict) -> None:
    """Formats from Glance's sets; Amazon formats come in matching pairs."""
    disk, container = fields.get("disk_format"), fields.get("container_format")
    if disk is not None and disk not in DISK_FORMATS:
        raise errors.BadRequest("Invalid disk format '%s' for image." % disk)
    if container is not None and container not in CONTAINER_FORMATS:
        raise errors.BadRequest("Invalid container format '%s' for image." % container)
    if disk in AMAZON_FORMATS or container in AMAZON_FORMATS:
        if disk is None:
            fields["disk_format"] = container
        elif container is None:
            fields["container_format"] = disk
        elif disk != container:
            raise errors.BadRequest(
                "Invalid mix of disk and container formats. When setting a disk "
                "or container format to one of 'aki', 'ari', or 'ami', the "
                "container and disk formats must match.")


def _check_common(ctx: RequestContext, services, meta: ImageMeta,
                  has_data: bool, request: flask.Request) -> None:
    check_formats(meta.fields)
    cap = services.conf.image_size_cap
    size = declared_size(meta, request)
    if size is not None and size > cap:
        raise errors.BadRequest(
            "Denying attempt to upload image larger than %d bytes." % cap)
    checksum = meta.fields.get("checksum")
    if checksum is not None and len(checksum) > 32:
        raise errors.BadRequest("checksum is at most 32 characters (an MD5 hex digest).")
    if meta.fields.get("is_public"):
        policy.enforce(ctx, "publicize_image")
    sources = [has_data, bool(meta.copy_from), meta.location is not None]
    if sum(sources) > 1:
        raise errors.BadRequest("It's invalid to provide multiple image sources.")
    if has_data:
        policy.enforce(ctx, "upload_image")
        ctype = (request.mimetype or "application/octet-stream").lower()
        if ctype != "application/octet-stream":
            raise errors.BadRequest(
                "Image data must be sent as application/octet-stream, not %s." % ctype)
        _check_store(services, meta.store)
    if meta.copy_from is not None:
        policy.enforce(ctx, "copy_from")
        _check_external_url(services, meta.copy_from)
    if meta.location is not None:
        policy.enforce(ctx, "set_image_location")
        _check_external_url(services, meta.location)
    if meta.store is not None and not has_data:
        _check_store(services, meta.store)


def _check_store(services, store: str | None) -> None:
    if store is None:
        return
    if store not in services.stores.store_names:
        raise errors.BadRequest("Required store %s is invalid" % store)
    if Capability.WRITE not in services.stores.driver(store).capabilities:
        raise errors.BadRequest("Store %s cannot hold uploads" % store)


def _check_external_url(services, url: str) -> None:
    if not url:
        raise errors.BadRequest("External source should not be empty")
    if not url.lower().startswith(EXTERNAL_SCHEMES):
        raise errors.BadRequest("External sources are not supported: '%s'" % redact(url))
    services.stores.check_url(url)


def _check_property_quota(services, count: int) -> None:
    quota = services.conf.image_property_quota
    if 0 <= quota < count:
        raise errors.TooLarge("Attempted to add %d properties; the limit is %d." % (count, quota))


def _require_formats(fields: dict) -> None:
    if not fields.get("disk_format"):
        raise errors.BadRequest("Disk format is not specified.")
    if not fields.get("container_format"):
        raise errors.BadRequest("Container format is not specified.")


def check_create(ctx: RequestContext, services, meta: ImageMeta, has_data: bool,
                 request: flask.Request) -> None:
    """Every check of spec 4.4 that needs no bytes; raises the client's error."""
    policy.enforce(ctx, "add_image")
    _check_common(ctx, services, meta, has_data, request)
    if meta.fields.get("status") not in (None, "queued"):
        raise errors.Forbidden("Forbidden to modify 'status' of image.")
    _check_property_quota(services, sum(v is not None for v in meta.properties.values()))
    if has_data or meta.copy_from or meta.location:
        _require_formats(meta.fields)


def new_record(ctx: RequestContext, meta: ImageMeta, has_data: bool) -> dict:
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
        has_data or meta.copy_from or meta.location)
    record["status"] = "active" if explicit_empty else "queued"
    if has_data or meta.location:
        # The bytes decide these; a caller's values are checked against them.
        record.pop("size", None)
    return record


def check_update(ctx: RequestContext, services, image: dict, meta: ImageMeta,
                 has_data: bool, request: flask.Request) -> dict:
    """Every check of spec 4.6; returns the changes to send to the registry."""
    policy.enforce(ctx, "modify_image", image)
    if image.get("deleted") or image["status"] in ("deleted", "pending_delete"):
        raise errors.Forbidden("Forbidden to update deleted image.")
    _check_common(ctx, services, meta, has_data, request)
    fields = dict(meta.fields)
    for field in ("status", "id"):
        if field in fields and fields[field] != image.get(field):
            raise errors.Forbidden("Forbidden to modify '%s' of image." % field)
        fields.pop(field, None)
    if not ctx.is_admin:
        fields.pop("owner", None)
        if image["status"] in ("active", "deactivated"):
            for field in FROZEN_WHEN_ACTIVE:
                if field in fields and fields[field] != image.get(field):
                    raise errors.Forbidden(
                        "Forbidden to modify '%s' of active image." % field)
    if has_data and image["status"] != "queued":
        raise errors.Conflict("Cannot upload to an unqueued image")
    if (meta.location is not None or meta.copy_from) and image["status"] != "queued":
        raise errors.BadRequest("Attempted to update Location field for an image "
                                "not in queued status.")
    purge = meta.purge_props and not has_data
    kept = {} if purge else dict(image.get("properties") or {})
    kept.update(meta.properties)
    _check_property_quota(services, sum(v is not None for v in kept.values()))
    if has_data or meta.location:
        merged = dict(image)
        merged.update({k: v for k, v in fields.items() if v is not None})
        _require_formats(merged)
        fields.pop("size", None)
        if image.get("checksum"):
            fields.pop("checksum", None)
    changes = {k: v for k, v in fields.items() if k != "is_public"}
    if "is_public" in fields:
        if fields["is_public"]:
            changes["visibility"] = "public"
        elif image.get("visibility") == "public":
            changes["visibility"] = "shared"
    if meta.properties or purge:
        changes["properties"] = meta.properties if not purge else {
            k: v for k, v in meta.properties.items() if v is not None}
    return changes


def activate_location(ctx: RequestContext, services, image: dict, meta: ImageMeta) -> dict:
    """Point a queued image at data that already lives at an http(s) URL."""
    remote = services.stores.get_size(meta.location)
    given = meta.fields.get("size")
    if given and given != remote:
        raise errors.Conflict("Provided image size must match the stored image size")
    changes = {"status": "active", "size": remote,
               "locations": [{"url": meta.location, "metadata": {}}]}
    return services.registry.update(ctx, image["id"], changes, from_state="queued")


def owns_bytes(location: dict) -> bool:
    """Whether the service wrote this location (and so may delete it)."""
    return bool((location.get("metadata") or {}).get("store"))


def check_downloadable(image: dict) -> None:
    """Only active images have data to send (spec 4.5)."""
    if image["status"] == "deactivated":
        raise errors.Forbidden("Image %s is deactivated." % image["id"])
    if image["status"] != "active":
        raise errors.NotFound("Image %s is not active" % image["id"])


def active_location(image: dict) -> str | None:
    """The URL of the image's first active location."""
    for location in image.get("locations") or []:
        if location.get("status", "active") == "active":
            return location["url"]
    if image.get("size"):
        raise errors.NotFound("Image %s has no data." % image["id"])
    return None


def image_url(image_id: str) -> str:
    """The absolute URL of an image, honouring public_endpoint."""
    services = flask.current_app.extensions["glance"]
    base = services.conf.public_endpoint or flask.request.host_url
    return "%s/v1/images/%s" % (base.rstrip("/"), image_id)
