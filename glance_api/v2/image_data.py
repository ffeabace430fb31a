"""Handlers of /v2/images/{id}/file: upload and download (spec v2 section 5).

Both go through the data path v1 uses (glance_api.data): the same streaming,
hashing, quota and heartbeat; v2's failure policy puts a failed upload back
to ``queued`` with no bytes left.
"""

from __future__ import annotations

import re

import flask

from glance_api import registry_client
from glance_api.cache import serve as cache_serve
from glance_api.data import download
from glance_api.data.body import ClientBody
from glance_api.data.body import drained_on_error
from glance_api.data.upload import REQUEUE
from glance_api.data.upload import ImageChanged
from glance_api.exceptions import ApiError
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import RangeNotSatisfiable
from glance_api.exceptions import UnsupportedMediaType
from glance_api.services import services
from glance_api.v2.images import get_image
from glance_store import Capability

bp = flask.Blueprint("v2_image_data", __name__)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class Gone(ApiError):
    code = 410


@bp.put("/v2/images/<image_id>/file")
def upload(image_id):
    # A refusal (even before the body is read) must reach a client still sending.
    with drained_on_error(flask.request.environ):
        return _upload(image_id)


def _upload(image_id: str):
    ctx, svc = flask.g.context, services()
    content_type = (flask.request.mimetype or "").lower()
    if content_type != "application/octet-stream":
        raise UnsupportedMediaType("Invalid content type %s" % (content_type or "None"))
    store = _chosen_store(svc.stores)
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "upload_image", image)
    if image["status"] != "queued":
        raise Conflict("Image status transition from %s to saving is not allowed"
                       % image["status"])
    if not (image.get("disk_format") and image.get("container_format")):
        raise BadRequest("Properties disk_format, container_format must be set prior "
                         "to saving data.")
    size = _declared_size()
    try:
        svc.uploader.upload(ctx, image, ClientBody.from_environ(flask.request.environ),
                            size=size, store=store, on_failure=REQUEUE)
    except ImageChanged as exc:
        raise Gone("Image %s was deleted while its data was uploading." % image_id) from exc
    except registry_client.Conflict as exc:
        raise Conflict(exc.message) from exc
    return flask.Response(status=204)


def _chosen_store(stores) -> str | None:
    """The store X-Image-Meta-Store names (multi-store only, as Glance; glanceclient
    --store); 400 for one that is not configured or cannot hold data."""
    store = flask.request.headers.get("X-Image-Meta-Store")
    if not stores.multistore or store is None:
        return None
    if store not in stores.store_names:
        raise BadRequest("Store for identifier %s not found" % store)
    if Capability.WRITE not in stores.driver(store).capabilities:
        raise BadRequest("Store %s is read-only and cannot hold image data" % store)
    return store


def _declared_size() -> int | None:
    """x-openstack-image-size, else a Content-Length that is not chunked."""
    request = flask.request
    given = request.headers.get("x-openstack-image-size")
    if given is not None:
        try:
            size = int(given)
        except ValueError:
            raise BadRequest("x-openstack-image-size must be a whole number of bytes.") from None
        if size < 0:
            raise BadRequest("x-openstack-image-size must not be negative.")
        return size
    chunked = "chunked" in (request.headers.get("Transfer-Encoding") or "").lower()
    return None if chunked else request.content_length


@bp.get("/v2/images/<image_id>/file")
def download_file(image_id):
    ctx, svc = flask.g.context, services()
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "download_image", image)
    if image["status"] == "deactivated" and not ctx.is_admin:
        raise Forbidden("The requested image has been deactivated. Image data "
                        "download is forbidden.")
    if image["status"] not in ("active", "deactivated") or not image.get("size"):
        return flask.Response(status=204)
    size = image["size"]
    wanted = _byte_range(size)
    offset, length = (0, None) if wanted is None else wanted
    data = cache_serve.open_image(svc.cache, svc.stores, image, offset, length)
    body = download.response_body(flask.request.environ, data, download.send_reporter(
        svc.notifier, ctx, image, flask.request.remote_addr))
    response = flask.Response(body, mimetype="application/octet-stream",
                              direct_passthrough=True)
    response.headers["Content-Length"] = str(data.size)
    if image.get("checksum"):
        response.headers["Content-MD5"] = image["checksum"]
    if wanted is not None:
        response.status_code = 206
        response.headers["Content-Range"] = "bytes %d-%d/%d" % (
            offset, offset + data.size - 1, size)
    return response


def _byte_range(size: int) -> tuple[int, int] | None:
    """(offset, length) of the one range asked for, clamped to the image; None for all."""
    request = flask.request
    header = request.headers.get("Range")
    if header is None:
        legacy = _CONTENT_RANGE.match((request.headers.get("Content-Range") or "").strip())
        if legacy is None:
            return None
        start, end = int(legacy.group(1)), int(legacy.group(2))
    else:
        spec = header.strip().replace(" ", "")
        if "," in spec:
            raise BadRequest("Requests with multiple ranges are not supported in Glance.")
        match = _RANGE.match(spec)
        if match is None or match.group(1) == match.group(2) == "":
            raise BadRequest("Invalid Range header: %s" % header)
        if match.group(1) == "":  # the last N bytes
            suffix = int(match.group(2))
            start, end = max(size - suffix, 0), size - 1
        else:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(
            "Invalid start position in Range header. Start position MUST be in the "
            "inclusive range [0, %d]." % (size - 1))
    end = min(end, size - 1)
    return start, end - start + 1
