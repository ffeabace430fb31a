"""Handlers of /v2/images[/{id}] and the deactivate/reactivate actions:
parse, authorize, call the registry, render (spec v2 sections 4 and 8)."""

from __future__ import annotations

import json

import flask

from glance_api import image_rules
from glance_api import policy
from glance_api import registry_client
from glance_api.data.upload import discard
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import NotFound
from glance_api.locations import legacy as locations
from glance_api.services import Services
from glance_api.services import services
from glance_api.v2 import filters
from glance_api.v2 import patch
from glance_api.v2 import schemas
from glance_api.v2 import views
from glance_common.context import RequestContext

bp = flask.Blueprint("v2_images", __name__)
IMAGE_NOT_FOUND = "No image found with ID %s"


def _ctx() -> RequestContext:
    return flask.g.context


def json_body() -> object:
    """The request body as JSON; 400 when it is not."""
    raw = flask.request.get_data(cache=False)
    try:
        return json.loads(raw or b"null")
    except (ValueError, RecursionError):  # nesting deeper than Python's stack
        raise BadRequest("Malformed JSON in request body.") from None


def get_image(svc: Services, ctx: RequestContext, image_id: str) -> dict:
    """The image if ``ctx`` may see it through v2 (deleted ones never); 404 otherwise."""
    try:
        image = svc.registry.get(ctx, image_id)
    except registry_client.NotFound:
        raise NotFound(IMAGE_NOT_FOUND % image_id) from None
    if image.get("deleted") or image["status"] in ("deleted", "pending_delete"):
        raise NotFound(IMAGE_NOT_FOUND % image_id)
    return image


def render(svc: Services, image: dict) -> dict:
    """The v2 document of ``image`` under this api's options."""
    return views.image(image, show_direct_url=svc.conf.show_image_direct_url,
                       show_locations=locations.shows_locations(svc, _ctx(), image),
                       show_stores=svc.stores.multistore)


def _check_visibility_change(svc: Services, ctx: RequestContext, visibility: str | None,
                             target: dict) -> None:
    if visibility == "public":
        svc.policy.enforce(ctx, "publicize_image", target)
    elif visibility == "community":
        svc.policy.enforce(ctx, "communitize_image", target)


@bp.post("/v2/images")
def create():
    ctx, svc = _ctx(), services()
    record = schemas.check_create(json_body(), property_quota=svc.conf.image_property_quota,
                                  tag_quota=svc.conf.image_tag_quota)
    svc.uploader.format_rules.check_allowed(record)
    owner = record.get("owner")
    if owner is not None and owner != ctx.project_id and not ctx.is_admin:
        raise Forbidden("You are not permitted to create images owned by '%s'" % owner)
    target = policy.new_image_target(ctx, owner)
    svc.policy.enforce(ctx, "add_image", target)
    _check_visibility_change(svc, ctx, record.get("visibility"), target)
    try:
        image = svc.registry.create(ctx, dict(record, status="queued"))
    except registry_client.Conflict:
        raise Conflict("Image ID %s already exists!" % record.get("id")) from None
    svc.notifier.image_event(ctx, "image.create", image)
    response = flask.jsonify(render(svc, image))
    response.status_code = 201
    base = svc.conf.public_endpoint or flask.request.host_url
    response.headers["Location"] = "%s/v2/images/%s" % (base.rstrip("/"), image["id"])
    if svc.conf.enabled_import_methods:  # spec 4.1; OSC's --import looks for it
        response.headers["OpenStack-image-import-methods"] = ",".join(
            svc.conf.enabled_import_methods)
    return response


@bp.get("/v2/images")
def index():
    ctx, svc = _ctx(), services()
    svc.policy.enforce(ctx, "get_images")
    query = list(flask.request.args.items(multi=True))
    params = filters.registry_params(query, limit_default=svc.conf.limit_param_default,
                                     limit_max=svc.conf.api_limit_max)
    if params["limit"] == 0:
        page = []
    else:
        try:
            page = svc.registry.list(ctx, params, detail=True)
        except registry_client.NotFound as exc:  # an unknown or invisible marker
            raise BadRequest(exc.message) from None
    first, next_ = filters.links(query, page, params["limit"])
    return views.images(page, first, next_, show_direct_url=svc.conf.show_image_direct_url,
                        show_stores=svc.stores.multistore)


@bp.get("/v2/images/<image_id>")
def show(image_id):
    ctx, svc = _ctx(), services()
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "get_image", image)
    return render(svc, image)


@bp.patch("/v2/images/<image_id>")
def update(image_id):
    ctx, svc = _ctx(), services()
    dialect = patch.check_media_type(flask.request.headers.get("Content-Type"))
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "modify_image", image)
    operations = patch.parse(flask.request.get_data(cache=False), dialect)
    document = locations.patch_document(svc, ctx, image, render(svc, image))
    changes = patch.apply(document, operations,
                          property_quota=svc.conf.image_property_quota,
                          tag_quota=svc.conf.image_tag_quota)
    svc.uploader.format_rules.check_allowed(changes)
    if "owner" in changes and not ctx.is_admin:
        raise Forbidden("Owner can't be updated by non admin.")
    _check_visibility_change(svc, ctx, changes.get("visibility"), image)
    moved = locations.plan(svc, ctx, image, changes)
    if changes:
        # The registry counts again, atomically: the patch read may be stale.
        image = svc.registry.update(ctx, image_id, changes, from_state=moved.from_state,
                                    property_quota=svc.conf.image_property_quota,
                                    tag_quota=svc.conf.image_tag_quota)
        svc.notifier.image_event(ctx, "image.update", image)
        moved.done(svc, image)
    return render(svc, image)


@bp.delete("/v2/images/<image_id>")
def delete(image_id):
    ctx, svc = _ctx(), services()
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "delete_image", image)
    if image.get("protected"):
        raise Forbidden("Image %s is protected and cannot be deleted." % image_id)
    pending = svc.conf.delayed_delete and bool(image.get("locations"))
    try:
        deleted = svc.registry.delete(ctx, image_id, pending=pending)
    except registry_client.NotFound:
        raise NotFound("Failed to find image %s to delete" % image_id) from None
    svc.notifier.image_event(ctx, "image.delete", deleted)
    if not pending:
        for location in deleted.get("locations") or image.get("locations") or []:
            if image_rules.owns_bytes(location):
                discard(svc.stores, location["url"])
    return flask.Response(status=204)


# What each action does: (policy rule, status it needs, status it leaves).
ACTIONS = {"deactivate": ("deactivate", "active", "deactivated"),
           "reactivate": ("reactivate", "deactivated", "active")}


@bp.post("/v2/images/<image_id>/actions/<action>")
def act(image_id, action):
    ctx, svc = _ctx(), services()
    if action not in ACTIONS:
        raise NotFound("The resource could not be found.")
    rule, needed, result = ACTIONS[action]
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, rule, image)
    if image["status"] == result:
        return flask.Response(status=204)
    if image["status"] != needed:
        raise Forbidden("Not allowed to %s image in status '%s'" % (action, image["status"]))
    try:
        image = svc.registry.update(ctx, image_id, {"status": result}, from_state=needed)
    except registry_client.Conflict as exc:
        raise Conflict(exc.message) from None
    svc.notifier.image_event(ctx, "image.update", image)
    return flask.Response(status=204)
