"""HTTP handlers for /images."""

from __future__ import annotations

import flask

from glance_common import timestamps
from glance_registry import images
from glance_registry import limits
from glance_registry import listing
from glance_registry.api.bodies import context
from glance_registry.api.bodies import json_body
from glance_registry.api.settings import Settings
from glance_registry.errors import BadRequest
from glance_registry.serializers import brief
from glance_registry.serializers import full


def blueprint(settings: Settings) -> flask.Blueprint:
    """The /images resource."""
    bp = flask.Blueprint("images", __name__)

    def _page():
        ctx = context()
        query = listing.parse_list_query(ctx, flask.request.args,
                                         settings.limit_default,
                                         settings.limit_max)
        return listing.list_images(ctx, query)

    @bp.get("/images")
    def index():
        return {"images": [brief(image) for image in _page()]}

    @bp.get("/images/detail")
    def detail():
        page = _page()
        children = images.load_children([image.id for image in page])
        return {"images": [full(image, children) for image in page]}

    @bp.get("/images/<image_id>")
    def show(image_id):
        return {"image": images.get_image(context(), image_id)}

    @bp.post("/images")
    def create():
        body = _object(json_body(), "image")
        return {"image": images.create_image(context(), body["image"])}, 201

    @bp.put("/images/<image_id>")
    def update(image_id):
        body = _object(json_body(), "image")
        from_state = body.get("from_state")
        purge_props = body.get("purge_props", False)
        if from_state is not None and not isinstance(from_state, str):
            raise BadRequest("from_state must be a status or null.")
        if not isinstance(purge_props, bool):
            raise BadRequest("purge_props must be true or false.")
        fetch_pending = body.get("fetch_pending")
        if fetch_pending is not None and not isinstance(fetch_pending, bool):
            raise BadRequest("fetch_pending must be true, false or null.")
        if_locations = body.get("if_locations")
        if if_locations is not None and not (
                isinstance(if_locations, list)
                and all(isinstance(url, str) for url in if_locations)):
            raise BadRequest("if_locations must be a list of location URLs or null.")
        image = images.update_image(
            context(), image_id, body["image"], from_state, purge_props,
            property_quota=limits.parse_limit(body, "property_quota"),
            tag_quota=limits.parse_limit(body, "tag_quota"),
            fetch_pending=fetch_pending, if_locations=if_locations,
            add_tags=body.get("add_tags"), remove_tags=body.get("remove_tags"))
        return {"image": image}

    @bp.get("/images/stale-fetches")
    def stale_fetches():
        args = flask.request.args
        try:
            before = timestamps.parse_iso(args["before"])
            limit = int(args.get("limit", STALE_PAGE))
        except (KeyError, ValueError):
            raise BadRequest("Expected ?before=<ISO 8601 time>[&limit=n].") from None
        limit = max(1, min(limit, settings.limit_max))
        return {"images": images.stale_fetches(context(), before, limit)}

    @bp.delete("/images/<image_id>")
    def delete(image_id):
        status = flask.request.args.get("status", "deleted")
        return {"image": images.delete_image(context(), image_id, status)}

    return bp


STALE_PAGE = 100


def _object(body, key: str) -> dict:
    if not isinstance(body, dict) or key not in body:
        raise BadRequest('Expected a JSON object with an "%s" key.' % key)
    return body
