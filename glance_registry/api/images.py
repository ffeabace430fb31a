"""HTTP handlers for /images."""

from __future__ import annotations

import flask

from glance_registry import images, listing
from glance_registry.api.bodies import context, json_body
from glance_registry.api.settings import Settings
from glance_registry.errors import BadRequest
from glance_registry.serializers import brief, full


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
        image = images.update_image(context(), image_id, body["image"],
                                    from_state, purge_props)
        return {"image": image}

    @bp.delete("/images/<image_id>")
    def delete(image_id):
        status = flask.request.args.get("status", "deleted")
        return {"image": images.delete_image(context(), image_id, status)}

    return bp


def _object(body, key: str) -> dict:
    if not isinstance(body, dict) or key not in body:
        raise BadRequest('Expected a JSON object with an "%s" key.' % key)
    return body
