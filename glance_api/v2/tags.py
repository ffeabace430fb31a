"""Handlers of /v2/images/{id}/tags/{tag} (spec v2 section 6).

Each call edits the tags in the registry (``update_tags``) rather than
writing back the list it read: two concurrent adds would otherwise leave
only the second one's list.
"""

from __future__ import annotations

import flask

from glance_api import registry_client
from glance_api.exceptions import BadRequest
from glance_api.exceptions import NotFound
from glance_api.services import services
from glance_api.v2 import schemas
from glance_api.v2.images import get_image

bp = flask.Blueprint("v2_tags", __name__)
MAX_TAG_LENGTH = 255


def _image(image_id: str) -> dict:
    ctx, svc = flask.g.context, services()
    try:
        image = get_image(svc, ctx, image_id)
    except NotFound:
        raise NotFound("Image %s not found." % image_id) from None
    svc.policy.enforce(ctx, "modify_image", image)
    return image


@bp.put("/v2/images/<image_id>/tags/<path:tag>")
def add(image_id, tag):
    svc = services()
    if len(tag) > MAX_TAG_LENGTH:
        raise BadRequest("Provided object does not match schema 'image': '%s' is too "
                         "long (at most %d characters)" % (tag, MAX_TAG_LENGTH))
    image = _image(image_id)
    tags = image.get("tags") or []
    if tag not in tags:
        # A quick refusal from our read; the registry counts again with the
        # write, which adds to the tags as they are then, not as we read them.
        schemas.check_tag_quota(svc.conf.image_tag_quota, len(tags) + 1)
        image = svc.registry.update_tags(flask.g.context, image_id, add=(tag,),
                                         tag_quota=svc.conf.image_tag_quota)
        svc.notifier.image_event(flask.g.context, "image.update", image)
    return flask.Response(status=204)


@bp.delete("/v2/images/<image_id>/tags/<path:tag>")
def remove(image_id, tag):
    svc = services()
    image = _image(image_id)
    if tag not in (image.get("tags") or []):
        raise NotFound("The resource could not be found.")
    try:
        image = svc.registry.update_tags(flask.g.context, image_id, remove=(tag,))
    except registry_client.NotFound:  # removed (or the image deleted) meanwhile
        raise NotFound("The resource could not be found.") from None
    svc.notifier.image_event(flask.g.context, "image.update", image)
    return flask.Response(status=204)
