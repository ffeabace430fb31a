"""Handlers of /v2/cache: this node's image cache (Images API v2.14 and v2.16).

Each api node has its own cache, so these act on the node that answers:
behind a balancer, send them to a node's own address.
"""

from __future__ import annotations

import flask

from glance_api import image_rules
from glance_api.cache.store import CacheStore
from glance_api.exceptions import BadRequest
from glance_api.exceptions import NotFound
from glance_api.services import services

bp = flask.Blueprint("v2_cache", __name__)
# x-image-cache-clear-target: Glance's 'cache' and 'queue', empty for both;
# 'cached' and 'both' are accepted as well.
_TARGETS = {"": (True, True), "both": (True, True), "cache": (True, False),
            "cached": (True, False), "queue": (False, True)}


def _enabled(cache: CacheStore | None) -> CacheStore:
    if cache is None:
        raise NotFound("Caching via API is not supported at this site.")
    return cache


@bp.get("/v2/cache")
def list_cache():
    ctx, svc = flask.g.context, services()
    svc.policy.enforce(ctx, "cache_list")
    cache = _enabled(svc.cache)
    return {"cached_images": [entry.to_json() for entry in cache.entries()],
            "queued_images": cache.queued()}


@bp.put("/v2/cache/<image_id>")
def queue_image(image_id):
    ctx, svc = flask.g.context, services()
    image = image_rules.get_visible(svc.registry, ctx, image_id)
    svc.policy.enforce(ctx, "cache_image", image)
    cache = _enabled(svc.cache)
    if image["status"] != "active":
        raise BadRequest("Only images with status active can be targeted for queueing")
    if not cache.valid_id(image_id):
        raise NotFound("Image %s not found." % image_id)
    cache.queue(image_id)
    return flask.Response(status=202)


@bp.delete("/v2/cache/<image_id>")
def delete_entry(image_id):
    ctx, svc = flask.g.context, services()
    try:
        image = image_rules.get_visible(svc.registry, ctx, image_id)
    except NotFound:
        image = None  # a deleted image's copy may still be here: let it go
    svc.policy.enforce(ctx, "cache_delete", image or {})
    cache = _enabled(svc.cache)
    in_queue = cache.valid_id(image_id) and image_id in cache.queued()
    if image is None and not (cache.is_cached(image_id) or in_queue):
        raise NotFound("Image %s not found." % image_id)
    cache.delete(image_id)
    cache.dequeue(image_id)
    return flask.Response(status=204)


@bp.delete("/v2/cache")
def clear():
    ctx, svc = flask.g.context, services()
    svc.policy.enforce(ctx, "cache_delete")
    cache = _enabled(svc.cache)
    target = (flask.request.headers.get("x-image-cache-clear-target") or "").strip().lower()
    if target not in _TARGETS:
        raise BadRequest("If provided 'x-image-cache-clear-target' must be 'cache', "
                         "'queue' or empty string.")
    cached, queued = _TARGETS[target]
    if cached:
        cache.clear()
    if queued:
        cache.clear_queue()
    return flask.Response(status=204)
