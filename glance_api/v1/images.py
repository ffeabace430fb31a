"""Handlers of /v1/images: parse headers, apply the rules, call the registry
and the data path."""

from __future__ import annotations

import flask
from werkzeug.exceptions import MethodNotAllowed

from glance_api import image_rules
from glance_api.cache import serve as cache_serve
from glance_api.data import download
from glance_api.data.body import ClientBody
from glance_api.data.body import drained_on_error
from glance_api.data.upload import discard
from glance_api.exceptions import Conflict
from glance_api.exceptions import NotFound
from glance_api.services import Services
from glance_api.services import services
from glance_api.v1 import headers
from glance_api.v1 import rules
from glance_common.context import RequestContext

bp = flask.Blueprint("v1_images", __name__)

# Query parameters the registry understands; anything else is dropped.
LIST_PARAMS = frozenset({
    "name", "status", "container_format", "disk_format", "min_ram", "min_disk",
    "size_min", "size_max", "changes-since", "protected", "is_public", "deleted",
    "limit", "marker", "sort_key", "sort_dir"})


def _ctx() -> RequestContext:
    return flask.g.context


def _list_params() -> dict:
    args = flask.request.args
    return {k: v for k, v in args.items(multi=False)
            if k in LIST_PARAMS or k.startswith("property-")}


def _body() -> rules.Body:
    request = flask.request
    return rules.Body.of(request.headers, request.content_length, request.mimetype)


@bp.get("/v1/images")
def index():
    svc = services()
    svc.policy.enforce(_ctx(), "get_images")
    images = svc.registry.list(_ctx(), _list_params(), detail=False)
    return {"images": [headers.to_brief_json(i) for i in images]}


@bp.get("/v1/images/detail")
def detail():
    if flask.request.method == "HEAD":
        # Glance answered 405 here: only single images have a HEAD.
        raise MethodNotAllowed(valid_methods=["GET"])
    svc = services()
    svc.policy.enforce(_ctx(), "get_images")
    images = svc.registry.list(_ctx(), _list_params(), detail=True)
    return {"images": [headers.to_json(i) for i in images]}


@bp.route("/v1/images/<image_id>", methods=["HEAD"])
def meta(image_id):
    svc = services()
    image = image_rules.get_visible(svc.registry, _ctx(), image_id)
    svc.policy.enforce(_ctx(), "get_image", image)
    response = flask.Response(status=200)
    _add_image_headers(response, image)
    return response


@bp.get("/v1/images/<image_id>")
def show(image_id):
    ctx, svc = _ctx(), services()
    image = image_rules.get_visible(svc.registry, ctx, image_id)
    svc.policy.enforce(ctx, "download_image", image)
    image_rules.check_downloadable(image)
    data = cache_serve.open_image(svc.cache, svc.stores, image)
    body = download.response_body(flask.request.environ, data, download.send_reporter(
        svc.notifier, ctx, image, flask.request.remote_addr))
    response = flask.Response(body, mimetype="application/octet-stream",
                              direct_passthrough=True)
    response.headers["Content-Length"] = str(image["size"] or 0)
    _add_image_headers(response, image)
    return response


@bp.post("/v1/images")
def create():
    # A refusal (even before the body is read) must reach a client still sending.
    with drained_on_error(flask.request.environ):
        return _create()


def _create():
    ctx, svc = _ctx(), services()
    meta, body = headers.parse(flask.request.headers), _body()
    rules.check_create(ctx, svc, meta, body)
    # As in Glance, the location is asked for its size before anything is
    # recorded: one that cannot be read (a redirect the import filter
    # refuses, a size that differs) leaves no queued image behind the 4xx.
    location_size = _location_size(svc, meta) if meta.location is not None else None
    image = svc.registry.create(ctx, rules.new_record(ctx, meta, body))
    svc.notifier.image_event(ctx, "image.create", image)
    image = _attach_data(ctx, svc, image, meta, body, location_size=location_size)
    response = _image_response(image, 201)
    response.headers["Location"] = _image_url(svc, image["id"])
    return response


@bp.put("/v1/images/<image_id>")
def update(image_id):
    with drained_on_error(flask.request.environ):
        return _update(image_id)


def _update(image_id: str):
    ctx, svc = _ctx(), services()
    meta, body = headers.parse(flask.request.headers), _body()
    image = image_rules.get_visible(svc.registry, ctx, image_id)
    changes = rules.check_update(ctx, svc, image, meta, body)
    purge = meta.purge_props and not body.present
    if changes or purge:
        # The registry counts the properties again, atomically.
        image = svc.registry.update(ctx, image_id, changes, purge_props=purge,
                                    property_quota=svc.conf.image_property_quota)
    image = _attach_data(ctx, svc, image, meta, body, reserved=image)
    svc.notifier.image_event(ctx, "image.update", image)
    return _image_response(image, 200)


def _attach_data(ctx: RequestContext, svc: Services, image: dict,
                 meta: headers.ImageMeta, body: rules.Body,
                 reserved: dict | None = None, location_size: int | None = None) -> dict:
    """Give a queued image its data: the request body, a location or a URL to copy.

    ``reserved`` is the image as recorded before, whose size and checksum
    a late upload must match; ``location_size`` the size already read
    from ``meta.location``.
    """
    reserved = reserved or {}
    if body.present:
        return svc.uploader.upload(
            ctx, image, ClientBody.from_environ(flask.request.environ),
            size=rules.declared_size(meta, body, reserved),
            checksum=meta.fields.get("checksum") or reserved.get("checksum"),
            store=meta.store)
    if meta.location:
        if location_size is None:
            location_size = _location_size(svc, meta)
        image = _activate_location(ctx, svc, image, meta, location_size)
        svc.notifier.image_event(ctx, "image.activate", image)
    elif meta.copy_from:
        svc.fetcher.start(ctx, image, meta.copy_from,
                          size=meta.fields.get("size") or reserved.get("size"),
                          store=meta.store)
    return image


def _location_size(svc: Services, meta: headers.ImageMeta) -> int:
    """The size of the data at ``meta.location``; 409 if a given size differs."""
    remote = svc.stores.get_size(meta.location)
    given = meta.fields.get("size")
    if given and given != remote:
        raise Conflict("Provided image size must match the stored image size")
    return remote


def _activate_location(ctx: RequestContext, svc: Services, image: dict,
                       meta: headers.ImageMeta, remote: int) -> dict:
    """Point a queued image at data of size ``remote`` that lives at an http(s) URL."""
    changes = {"status": "active", "size": remote,
               "locations": [{"url": meta.location, "metadata": {}}]}
    return svc.registry.update(ctx, image["id"], changes, from_state="queued")


def _image_url(svc: Services, image_id: str) -> str:
    """The absolute URL of an image, honouring public_endpoint."""
    base = svc.conf.public_endpoint or flask.request.host_url
    return "%s/v1/images/%s" % (base.rstrip("/"), image_id)


def _image_response(image: dict, status: int) -> flask.Response:
    response = flask.jsonify({"image": headers.to_json(image)})
    response.status_code = status
    if image.get("checksum"):
        response.headers["ETag"] = image["checksum"]
    return response


@bp.delete("/v1/images")
def delete_nothing():
    # No id: Glance answered 404 (the image "" does not exist), not 405.
    raise NotFound("Image  not found.")


@bp.delete("/v1/images/<image_id>")
def delete(image_id):
    ctx, svc = _ctx(), services()
    image = image_rules.get_visible(svc.registry, ctx, image_id)
    svc.policy.enforce(ctx, "delete_image", image)
    if image["status"] in ("deleted", "pending_delete"):
        raise NotFound("Image %s not found." % image_id)
    pending = svc.conf.delayed_delete and bool(image.get("locations"))
    deleted = svc.registry.delete(ctx, image_id, pending=pending)
    svc.notifier.image_event(ctx, "image.delete", deleted)
    if not pending:
        for location in deleted.get("locations") or image.get("locations") or []:
            if image_rules.owns_bytes(location):
                discard(svc.stores, location["url"], store=download.store_of(location))
    return flask.Response(status=200)


def _add_image_headers(response: flask.Response, image: dict) -> None:
    # Added, not set: the names are distinct and none is on the response
    # yet, and werkzeug's set() scans every header already there (with 17
    # x-image-meta-* headers that scan was ~0.1 ms of a HEAD).
    add = response.headers.add
    for name, value in headers.to_headers(image).items():
        add(name, value)
    if image.get("checksum"):
        add("ETag", image["checksum"])
