"""Delayed delete: remove the data of pending_delete images, or bring one back.

With ``delayed_delete`` a deleted image goes ``pending_delete`` and keeps
its data. Once it has waited ``scrub_time`` seconds the scrubber marks it
``deleted`` (a compare-and-set in the registry) and only then removes its
data, so a concurrent ``restore`` either wins first and keeps the data, or
is refused. Data the scrubber could not remove after marking is logged and
left to ``glance-scrubber --orphans``.

The scrubber reaches the registry over HTTP only, as glance-api does.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from typing import Iterator

from glance_api import registry_client
from glance_api.data.download import store_of
from glance_api.data.upload import discard
from glance_api.image_rules import owns_bytes
from glance_api.registry_client import RegistryClient
from glance_common import timestamps
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)
PAGE = 100


class ScrubError(Exception):
    """An image cannot be scrubbed or restored; the message says why."""


@dataclasses.dataclass(frozen=True)
class ScrubResult:
    """What one scrubber run did."""

    scrubbed: list[str]
    failed: list[str]


def admin_context() -> RequestContext:
    """The identity the scrubber acts with."""
    return RequestContext.build("glance-scrubber", None, ["admin"])


def pending_images(registry: RegistryClient, ctx: RequestContext,
                   deleted_before: datetime.datetime) -> Iterator[dict]:
    """Every pending_delete image deleted before ``deleted_before``, page by page."""
    params = {"deleted": "true", "status": "pending_delete", "is_public": "None",
              "sort_key": "updated_at", "sort_dir": "asc",
              "updated_before": timestamps.to_json(deleted_before)}
    return registry.iter_images(ctx, params, page=PAGE)


def scrub_once(registry: RegistryClient, stores, scrub_time: int,
               now: datetime.datetime | None = None) -> ScrubResult:
    """Scrub every image pending deletion for at least ``scrub_time`` seconds."""
    ctx = admin_context()
    cutoff = (now or timestamps.utcnow()) - datetime.timedelta(seconds=scrub_time)
    scrubbed, failed = [], []
    for image in list(pending_images(registry, ctx, cutoff)):
        try:
            registry.mark_scrubbed(ctx, image["id"])
        except (registry_client.NotFound, registry_client.Conflict):
            continue  # restored, or scrubbed by another scrubber meanwhile
        if _remove_data(stores, image):
            scrubbed.append(image["id"])
        else:
            failed.append(image["id"])
    return ScrubResult(scrubbed, failed)


def _remove_data(stores, image: dict) -> bool:
    ok = True
    for location in image.get("locations") or []:
        if not owns_bytes(location):
            continue  # data the service never wrote is not its to remove
        if not discard(stores, location["url"], store=store_of(location)):
            ok = False
            LOG.error("Image %s is deleted but its data could not be removed; "
                      "glance-scrubber --orphans will list it", image["id"])
    if ok:
        LOG.info("Scrubbed image %s", image["id"])
    return ok


def restore(registry: RegistryClient, stores, image_id: str) -> dict:
    """Bring a pending_delete image back to active, if all its data still exists."""
    ctx = admin_context()
    try:
        image = registry.get(ctx, image_id)
    except registry_client.Error as exc:
        raise ScrubError("Image %s: %s" % (image_id, exc.message)) from exc
    if image["status"] != "pending_delete":
        raise ScrubError("Image %s is %s, not pending_delete; only images "
                         "awaiting the scrubber can be restored."
                         % (image_id, image["status"]))
    for location in image.get("locations") or []:
        try:
            stores.get_size(location["url"], store=store_of(location))
        except store_exc.GlanceStoreError as exc:
            raise ScrubError("Image %s cannot be restored: its data is gone (%s)."
                             % (image_id, exc)) from exc
    try:
        return registry.restore(ctx, image_id)
    except registry_client.Error as exc:
        raise ScrubError("Image %s: %s" % (image_id, exc.message)) from exc
