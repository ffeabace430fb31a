"""Handlers of /v1/images: parse, apply the rules, call the registry and the store."""

from __future__ import annotations

import flask

from glance_api import download as sent
from glance_api import body, errors, payloads, policy, upload
from glance_api.registry import RegistryError
from glance_api.v1 import headers as hdrs
from glance_api.v1 import rules

bp = flask.Blueprint("v1_images", __name__)

# Query parameters the registry understands; anything else is dropped.
LIST_PARAMS = frozenset({
    "name", "status", "container_format", "disk_format", "min_ram", "min_disk",
    "size_min", "size_max", "changes-since", "protected", "is_public", "deleted",
    "limit", "marker", "sort_key", "sort_dir"})


def _services():
    return flask.current_app.extensions["glance"]


def _ctx():
    return flask.g.context


def _notify(event_type: str, image: dict) -> None:
    notifier = _services().notifier
    if notifier.wants(event_type):
        notifier.notify(_ctx(), event_type, payloads.image(image))


def _list_params() -> dict:
    args = flask.request.args
    return {k: v for k, v in args.items(multi=False)
            if k in LIST_PARAMS or k.startswith("property-")}


@bp.get("/v1/images")
def index():
    policy.enforce(_ctx(), "get_images")
    images = _services().registry.list(_ctx(), _list_params(), detail=False)
    return {"images": [hdrs.to_brief_json(i) for i in images]}


@bp.get("/v1/images/detail")
def detail():
    policy.enforce(_ctx(), "get_images")
    images = _services().registry.list(_ctx(), _list_params(), detail=True)
    return {"images": [hdrs.to_json(i) for i in images]}


def _get_visible(image_id: str) -> dict:
    try:
        return _services().registry.get(_ctx(), image_id)
    except RegistryError as exc:
        if exc.code == 404:
            raise errors.NotFound("Image %s not found." % image_id) from exc
        raise


@bp.route("/v1/images/<image_id>", methods=["HEAD"])
def meta(image_id):
    image = _get_visible(image_id)
    policy.enforce(_ctx(), "get_image", image)
    response = flask.Response(status=200)
    _add_image_headers(response, image)
    return response


@bp.get("/v1/images/<image_id>")
def download(image_id):
    ctx, services = _ctx(), _services()
    image = _get_visible(image_id)
    policy.enforce(ctx, "download_image", image)
    rules.check_downloadable(image)
    location = rules.active_location(image)
    data = services.stores.get(location) if image["size"] else None
    if data is not None and data.size != image["size"]:
        data.close()
        raise errors.ServiceUnavailable(
            "The stored data of image %s is %d bytes, not %d; refusing to send "
            "a corrupt image." % (image_id, data.size, image["size"]))
    on_close = _send_notifier(ctx, services.notifier, image)
    if data is not None and data.fileobj is not None:
        # Let the server hand the file to the kernel (sendfile).
        body = flask.request.environ["wsgi.file_wrapper"](
            sent.SentFile(data.fileobj, data.size, on_close), 1 << 20)
    else:
        body = sent.SentChunks(data if data is not None else (), on_close,
                               release=data.close if data is not None else None)
    response = flask.Response(body, mimetype="application/octet-stream",
                              direct_passthrough=True)
    response.headers["Content-Length"] = str(image["size"])
    _add_image_headers(response, image)
    return response


def _send_notifier(ctx, notifier, image: dict):
    """What a download body calls when it closes: image.send with the bytes sent.

    It runs after the request has ended, so it gets everything as arguments.
    A short send is reported as an error, as Glance did.
    """
    destination = flask.request.remote_addr

    def on_close(bytes_sent: int) -> None:
        if not notifier.wants("image.send"):
            return
        priority = "info" if bytes_sent == (image["size"] or 0) else "error"
        notifier.notify(ctx, "image.send",
                        payloads.send(image, ctx, bytes_sent, destination), priority)

    return on_close


@bp.post("/v1/images")
def create():
    ctx, services = _ctx(), _services()
    request = flask.request
    meta = hdrs.parse(request.headers)
    has_body = rules.has_body(request)
    rules.check_create(ctx, services, meta, has_body, request)
    image = services.registry.create(ctx, rules.new_record(ctx, meta, has_body))
    _notify("image.create", image)
    image = _fill(ctx, services, image, meta, has_body)
    response = _image_response(image, 201)
    response.headers["Location"] = rules.image_url(image["id"])
    return response


@bp.put("/v1/images/<image_id>")
def update(image_id):
    ctx, services = _ctx(), _services()
    request = flask.request
    meta = hdrs.parse(request.headers)
    has_body = rules.has_body(request)
    image = _get_visible(image_id)
    changes = rules.check_update(ctx, services, image, meta, has_body, request)
    purge = meta.purge_props and not has_body
    if changes or purge:
        image = services.registry.update(ctx, image_id, changes, purge_props=purge)
    image = _fill(ctx, services, image, meta, has_body, reserved=image)
    _notify("image.update", image)
    return _image_response(image, 200)


def _fill(ctx, services, image: dict, meta: hdrs.ImageMeta, has_body: bool,
          reserved: dict | None = None) -> dict:
    """Give a queued image its data: the request body, a location or a URL to copy.

    ``reserved`` is the image as recorded before, whose size and checksum
    a late upload must match.
    """
    reserved = reserved or {}
    if has_body:
        request = flask.request
        return upload.upload(ctx, services, image, body.stream(request.environ),
                             size=rules.declared_size(meta, request, reserved),
                             checksum=meta.fields.get("checksum") or reserved.get("checksum"),
                             store=meta.store)
    if meta.location:
        image = rules.activate_location(ctx, services, image, meta)
        _notify("image.activate", image)
    elif meta.copy_from:
        services.copier.start(ctx, image, meta.copy_from,
                              size=meta.fields.get("size") or reserved.get("size"),
                              store=meta.store)
    return image


def _image_response(image: dict, status: int) -> flask.Response:
    response = flask.jsonify({"image": hdrs.to_json(image)})
    response.status_code = status
    if image.get("checksum"):
        response.headers["ETag"] = image["checksum"]
    return response


@bp.delete("/v1/images/<image_id>")
def delete(image_id):
    ctx, services = _ctx(), _services()
    image = _get_visible(image_id)
    policy.enforce(ctx, "delete_image", image)
    if image["status"] in ("deleted", "pending_delete"):
        raise errors.NotFound("Image %s not found." % image_id)
    pending = services.conf.delayed_delete and bool(image.get("locations"))
    deleted = services.registry.delete(ctx, image_id, pending=pending)
    _notify("image.delete", deleted)
    if not pending:
        for location in deleted.get("locations") or image.get("locations") or []:
            if rules.owns_bytes(location):
                upload.discard(services.stores, location["url"])
    return flask.Response(status=200)


def _add_image_headers(response: flask.Response, image: dict) -> None:
    for name, value in hdrs.to_headers(image).items():
        response.headers[name] = value
    if image.get("checksum"):
        response.headers["ETag"] = image["checksum"]
