"""The locations API (Images API v2.17): GET and POST /v2/images/{id}/locations.

For services (Nova, Cinder) that keep image data in a store themselves and
tell Glance where: ``fetch_image_location`` (the ``service`` role by
default) lists an image's locations; ``add_image_location`` (services, or
the owning project's members) gives a queued image its data's location.
Only a queued image takes a location (OSSN-0065: an active image's data
is never swapped). Without validation_data the image is active at once;
with ``do_secure_hash`` its hash is then computed in the background. With
validation_data and ``do_secure_hash`` the image stays queued until the
data is read and found to have that hash. Locations are shown with their
credentials masked.
"""

from __future__ import annotations

import flask

from glance_api import image_rules
from glance_api import registry_client
from glance_api.exceptions import BadRequest
from glance_api.exceptions import Conflict
from glance_api.locations import legacy
from glance_api.locations import rules
from glance_api.locations.hashing import HashJob
from glance_api.locations.redaction import safe_url
from glance_api.services import services
from glance_api.v2.images import get_image
from glance_api.v2.images import json_body

bp = flask.Blueprint("v2_locations", __name__)
BODY_KEYS = ("url", "validation_data")


@bp.get("/v2/images/<image_id>/locations")
def index(image_id):
    ctx, svc = flask.g.context, services()
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "fetch_image_location", image)
    return flask.jsonify([{"url": safe_url(loc["url"]), "metadata": loc["metadata"]}
                          for loc in legacy.live_locations(image)])


@bp.post("/v2/images/<image_id>/locations")
def add(image_id):
    ctx, svc = flask.g.context, services()
    image = get_image(svc, ctx, image_id)
    svc.policy.enforce(ctx, "add_image_location", image)
    body = json_body()
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object with a 'url'.")
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise BadRequest("Unknown attribute(s) %s: a location takes url and "
                         "validation_data." % ", ".join(map(str, unknown)))
    url = rules.check_url_shape(body.get("url"))
    validation = rules.parse_validation_data(body.get("validation_data"))
    if image["status"] != "queued":
        raise Conflict("It's not allowed to add locations if image status is %s."
                       % image["status"])
    if url in {loc["url"] for loc in legacy.live_locations(image)}:
        raise Conflict("The location %s is already in the list." % safe_url(url))
    image_rules.require_formats(image)
    rules.check_vouched_hashes(image, validation)
    checked = rules.check_location(svc.stores, url,
                                   any_scheme=legacy.may_name_stores(svc, ctx),
                                   size_cap=svc.conf.image_size_cap)
    location = checked.record()
    if validation is not None and svc.conf.do_secure_hash:
        # Nothing is recorded until the data is found to be what was vouched.
        svc.location_hasher.submit(HashJob(ctx, image_id, location,
                                           validation.os_hash_algo, expected=validation))
        return flask.Response(status=202)
    _activate(svc, ctx, image, checked, validation)
    return flask.Response(status=202)


def _activate(svc, ctx, image: dict, checked: rules.CheckedLocation,
              validation: rules.ValidationData | None) -> None:
    """queued -> active with the location, its size, and the hash vouched or to come."""
    location = checked.record()
    changes = {"status": "active", "locations": [location], "size": checked.size}
    job = None
    if validation is not None:
        changes.update(os_hash_algo=validation.os_hash_algo,
                       os_hash_value=validation.os_hash_value)
    elif svc.conf.do_secure_hash:
        changes["os_hash_algo"] = svc.conf.hashing_algorithm
        job = HashJob(ctx, image["id"], location, svc.conf.hashing_algorithm)
    try:
        active = svc.registry.update(ctx, image["id"], changes, from_state="queued")
    except registry_client.Conflict:
        raise Conflict("Image %s is no longer queued: it got its data meanwhile."
                       % image["id"]) from None
    svc.notifier.image_event(ctx, "image.update", active)
    if job is not None:
        svc.location_hasher.submit(job)
