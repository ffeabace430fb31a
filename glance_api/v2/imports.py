"""Handlers of interoperable image import (spec v2 section 9):
``GET /v2/info/import``, ``PUT /v2/images/{id}/stage`` and
``POST /v2/images/{id}/import``. The work is in glance_api.imports; the
import itself runs in the background (202)."""

from __future__ import annotations

import flask

from glance_api import options
from glance_api import registry_client
from glance_api.data.body import ClientBody
from glance_api.data.body import drained_on_error
from glance_api.data.upload import ImageChanged
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import UnsupportedMediaType
from glance_api.imports import forwarding
from glance_api.imports import progress
from glance_api.imports import request as import_request
from glance_api.imports import sources
from glance_api.imports import staging
from glance_api.imports.request import COPY_IMAGE
from glance_api.imports.request import GLANCE_DIRECT
from glance_api.imports.request import GLANCE_DOWNLOAD
from glance_api.imports.request import WEB_DOWNLOAD
from glance_api.imports.request import ImportRequest
from glance_api.services import Services
from glance_api.services import services
from glance_api.v2.image_data import Gone
from glance_api.v2.image_data import _declared_size
from glance_api.v2.images import get_image
from glance_api.v2.images import json_body

bp = flask.Blueprint("v2_imports", __name__)


@bp.get("/v2/info/import")
def import_info():
    return {"import-methods": {"description": "Import methods available.",
                               "type": "array",
                               "value": list(services().conf.enabled_import_methods)}}


@bp.put("/v2/images/<image_id>/stage")
def stage(image_id):
    # A refusal (even before the body is read) must reach a client still sending.
    with drained_on_error(flask.request.environ):
        return _stage(image_id)


def _stage(image_id: str):
    ctx, svc = flask.g.context, services()
    content_type = (flask.request.mimetype or "").lower()
    if content_type != "application/octet-stream":
        raise UnsupportedMediaType("Invalid content type %s" % (content_type or "None"))
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "upload_image", image)
    if image["status"] != "queued":
        raise Conflict("Image status transition from %s to uploading is not allowed"
                       % image["status"])
    size = _declared_size()
    try:
        staging.stage(svc.uploader, svc.importer.staging, ctx, image,
                      ClientBody.from_environ(flask.request.environ), size,
                      stage_host=svc.conf.worker_self_reference_url)
    except ImageChanged as exc:
        raise Gone("Image %s was deleted while its data was being staged." % image_id) \
            from exc
    except registry_client.Conflict as exc:
        raise Conflict(exc.message) from exc
    return flask.Response(status=204)


@bp.post("/v2/images/<image_id>/import")
def import_image(image_id):
    ctx, svc = flask.g.context, services()
    body = json_body()
    name = import_request.method_name(body, list(svc.conf.enabled_import_methods))
    image = get_image(svc, ctx, image_id)
    if name == COPY_IMAGE:
        svc.policy.enforce(ctx, "copy_image", image)
    else:
        svc.policy.enforce(ctx, "modify_image", image)
    stage_host = _elsewhere(svc, image, name)
    if stage_host is not None:
        return forwarding.forward_import(stage_host, image_id, body)
    _check_status(svc, image, name)
    held_by = tuple((loc.get("metadata") or {}).get("store") or ""
                    for loc in image.get("locations") or [])
    req = import_request.parse(body, enabled=list(svc.conf.enabled_import_methods),
                               stores=svc.stores,
                               header_store=flask.request.headers.get("X-Image-Meta-Store"),
                               held_by=held_by)
    remote = None
    if req.method == WEB_DOWNLOAD:
        svc.importer.web.check(req.uri)
    elif req.method == GLANCE_DOWNLOAD:
        remote = _remote_glance(req)
    svc.importer.begin(ctx, image, req, remote)
    return flask.Response(status=202)


def _elsewhere(svc: Services, image: dict, method: str) -> str | None:
    """The api node holding this glance-direct image's staged data, when that
    is another node (Glance's os_glance_stage_host); None to import here."""
    own = svc.conf.worker_self_reference_url
    host = (image.get("properties") or {}).get(progress.STAGE_HOST)
    if method != GLANCE_DIRECT or not own or not host or image["status"] != "uploading":
        return None
    if host.rstrip("/") == own.rstrip("/") \
            or svc.importer.staging.size(image["id"]) is not None:
        return None
    return host


def _check_status(svc: Services, image: dict, method: str) -> None:
    """409 with Glance's messages when the image cannot take this import now."""
    status = image["status"]
    if method == COPY_IMAGE:
        if status != "active":
            raise Conflict("Only images with status active can be targeted for copying")
        return
    if method == GLANCE_DIRECT:
        if status == "uploading" and image.get("size") is not None \
                and svc.importer.staging.size(image["id"]) is not None:
            return
        if status in ("queued", "uploading"):
            raise Conflict("Image needs to be staged before 'glance-direct' method "
                           "can be used")
    elif status == "queued":
        return
    raise Conflict("Image with status %s cannot be target for import" % status)


def _remote_glance(req: ImportRequest) -> dict:
    """The other region's image endpoint, from the caller's service catalog."""
    if options.strategy(services().conf) != "keystone":
        # Only keystonemiddleware's catalog is the operator's; under noauth
        # X-Service-Catalog is whatever the client sent, and its URL would
        # be fetched from here.
        raise BadRequest("The glance-download import method needs the Keystone "
                         "service catalog (auth_strategy = keystone).")
    headers = flask.request.headers
    catalog = sources.parse_catalog(headers.get("X-Service-Catalog"))
    endpoint = sources.catalog_endpoint(catalog, req.glance_region,
                                        req.glance_service_interface)
    token = headers.get("X-Auth-Token")
    if endpoint is None or not token:
        raise BadRequest("No %s image service endpoint in region %s in the service "
                         "catalog." % (req.glance_service_interface, req.glance_region))
    return {"endpoint": endpoint, "token": token}
