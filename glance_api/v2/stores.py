"""Handlers of the multi-store endpoints (spec v2 9.1, 9.4): which stores
there are, and removing one store's copy of an image.

They exist only in multi-store mode ([DEFAULT] enabled_backends); elsewhere
they answer 404, as Glance does. The rules live in plain functions
(``store_documents``, ``plan_removal``) that tests call without HTTP.
"""

from __future__ import annotations

import dataclasses
import logging

import flask

from glance_api import registry_client
from glance_api.data.download import store_of
from glance_api.exceptions import Conflict
from glance_api.exceptions import Forbidden
from glance_api.exceptions import NotFound
from glance_api.services import services
from glance_api.v2.images import get_image
from glance_store import Capability
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)
bp = flask.Blueprint("v2_stores", __name__)
NOT_MULTISTORE = "Multi backend is not supported at this site."


def _require_multistore(stores) -> None:
    if not stores.multistore:
        raise NotFound(NOT_MULTISTORE)


def store_documents(stores, detail: bool = False) -> list[dict]:
    """Each store as GET /v2/info/stores[/detail] shows it.

    ``default`` and ``read-only`` are the string "true", present only when
    true, as Glance writes them; ``detail`` adds type, weight and the
    driver's non-secret settings.
    """
    documents = []
    for info in stores.describe():
        document = {"id": info.id}
        if info.description:
            document["description"] = info.description
        if info.default:
            document["default"] = "true"
        if Capability.WRITE not in stores.driver(info.id).capabilities:
            document["read-only"] = "true"
        if detail:
            document.update(type=info.type, weight=info.weight,
                            properties=dict(info.properties))
        documents.append(document)
    return documents


@bp.get("/v2/info/stores")
def stores_info():
    stores = services().stores
    _require_multistore(stores)
    return {"stores": store_documents(stores)}


@bp.get("/v2/info/stores/detail")
def stores_info_detail():
    ctx, svc = flask.g.context, services()
    _require_multistore(svc.stores)
    svc.policy.enforce(ctx, "stores_info_detail")
    return {"stores": store_documents(svc.stores, detail=True)}


@dataclasses.dataclass(frozen=True)
class Removal:
    """One store's copy to remove, and the locations the image keeps."""

    location: dict
    remaining: list[dict]


def plan_removal(image: dict, store_id: str) -> Removal:
    """What removing ``store_id``'s copy of ``image`` means, or why it may not go.

    409 unless the image is active; 403 when it has one location only
    (the copy would be its last); 404 when no location is in that store.
    """
    if image["status"] != "active":
        raise Conflict("It's not allowed to remove image data from store if image "
                       "status is not 'active'")
    live = [loc for loc in image.get("locations") or []
            if loc.get("status", "active") == "active"]
    if len(live) == 1:
        raise Forbidden("Cannot delete image data from the only store containing it. "
                        "Consider deleting the image instead.")
    for position, location in enumerate(live):
        if store_of(location) == store_id:
            rest = live[:position] + live[position + 1:]
            return Removal(location, [{"url": loc["url"], "metadata": loc.get("metadata") or {},
                                       "status": "active"} for loc in rest])
    raise NotFound("Image %s is not stored in store %s." % (image["id"], store_id))


@bp.delete("/v2/stores/<store_id>/<image_id>")
def delete_from_store(store_id, image_id):
    ctx, svc = flask.g.context, services()
    _require_multistore(svc.stores)
    if store_id not in svc.stores.store_names:
        raise Conflict("The selected store %s is not available on this node." % store_id)
    try:
        image = get_image(svc, ctx, image_id)
    except NotFound:
        raise NotFound("Failed to find image %s" % image_id) from None
    svc.policy.enforce(ctx, "delete_image_location", image)
    removal = plan_removal(image, store_id)
    # Recorded first, and only if no other writer changed the locations
    # since we read them: two removals of the two copies of one image must
    # not both pass (each would think the other copy stays). Glance removes
    # the bytes first; a failure after recording here leaks bytes (logged
    # for the operator), never loses the image's last copy.
    live = [removal.location["url"]] + [loc["url"] for loc in removal.remaining]
    try:
        image = svc.registry.update(ctx, image_id, {"locations": removal.remaining},
                                    from_state="active", if_locations=live)
    except registry_client.NotFound:
        raise NotFound("Failed to find image %s" % image_id) from None
    except registry_client.Conflict as exc:
        raise Conflict(exc.message) from None
    try:
        svc.stores.delete(removal.location["url"], store=store_id)
    except store_exc.NotFound:
        pass  # already gone
    except store_exc.GlanceStoreError as exc:
        LOG.error("Image %s no longer uses its copy in store %s, but the data could "
                  "not be removed (%s): remove it by hand", image_id, store_id, exc)
    svc.notifier.image_event(ctx, "image.update", image)
    return flask.Response(status=204)
