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


from glance_api.registry import RegistryClient, RegistryError, _quote
from glance_api.v1.rules import owns_bytes
from glance_common.context import RequestContext
from glance_store import exceptions as store_exc

LOG = logging.getLogger(__name__)
PAGE = 100
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


class ScrubError(Exception):
    """An image cannot be scrubbed or restored; the message says why."""


class ScrubberRegistry(RegistryClient):
    """The registry client plus the scrubber's admin-only calls."""

    def mark_scrubbed(self, ctx: RequestContext, image_id: str) -> dict:
        """pending_delete -> deleted; RegistryError(409) if it is not pending."""
        return self._request(ctx, "POST", "/images/%s/scrubbed" % _quote(image_id))["image"]

    def restore(self, ctx: RequestContext, image_id: str) -> dict:
        """pending_delete -> active; RegistryError(409) if it is not pending."""
        return self._request(ctx, "POST", "/images/%s/restore" % _quote(image_id))["image"]


@dataclasses.dataclass(frozen=True)
class ScrubResult:
    """What one scrubber run did."""

    scrubbed: list[str]
    failed: list[str]


def admin_context() -> RequestContext:
    """The identity the scrubber acts with."""
    return RequestContext.build("glance-scrubber", None, ["admin"])


def utcnow() -> datetime.datetime:
    """Now, in the registry's naive UTC."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def pending_images(registry: RegistryClient, ctx: RequestContext,
                   deleted_before: datetime.datetime) -> Iterator[dict]:
    """Every pending_delete image deleted before ``deleted_before``, page by page."""
    params = {"deleted": "true", "status": "pending_delete", "is_public": "None",
              "sort_key": "updated_at", "sort_dir": "asc", "limit": PAGE,
              "updated_before": deleted_before.strftime(TIME_FORMAT)}
    while True:
        page = registry.list(ctx, params, detail=True)
        yield from page
        if len(page) < PAGE:
            return
        params["marker"] = page[-1]["id"]


def scrub_once(registry: ScrubberRegistry, stores, scrub_time: int,
               now: datetime.datetime | None = None) -> ScrubResult:
    """Scrub every image pending deletion for at least ``scrub_time`` seconds."""
    ctx = admin_context()
    cutoff = (now or utcnow()) - datetime.timedelta(seconds=scrub_time)
    scrubbed, failed = [], []
    for image in list(pending_images(registry, ctx, cutoff)):
        try:
            registry.mark_scrubbed(ctx, image["id"])
        except RegistryError as exc:
            if exc.code in (404, 409):
                continue  # restored, or scrubbed by another scrubber meanwhile
            raise
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
        try:
            stores.delete(location["url"])
        except store_exc.NotFound:
            pass
        except store_exc.GlanceStoreError as exc:
            ok = False
            LOG.error("Image %s is deleted but its data could not be removed (%s); "
                      "glance-scrubber --orphans will list it", image["id"], exc)
    if ok:
        LOG.info("Scrubbed image %s", image["id"])
    return ok


def restore(registry: ScrubberRegistry, stores, image_id: str) -> dict:
    """Bring a pending_delete image back to active, if all its data still exists."""
    ctx = admin_context()
    try:
        image = registry.get(ctx, image_id)
    except RegistryError as exc:
        raise ScrubError("Image %s: %s" % (image_id, exc.message)) from exc
    if image["status"] != "pending_delete":
        raise ScrubError("Image %s is %s, not pending_delete; only images "
                         "awaiting the scrubber can be restored."
                         % (image_id, image["status"]))
    for location in image.get("locations") or []:
        try:
            stores.get_size(location["url"])
        except store_exc.GlanceStoreError as exc:
            raise ScrubError("Image %s cannot be restored: its data is gone (%s)."
                             % (image_id, exc)) from exc
    try:
        return registry.restore(ctx, image_id)
    except RegistryError as exc:
        raise ScrubError("Image %s: %s" % (image_id, exc.message)) from exc
